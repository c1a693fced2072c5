"""The gateway process's settings: its port and where the scheduler is."""

from __future__ import annotations

from services.common.process_settings import CommonSettings


class GatewaySettings(CommonSettings):
    """Configuration of the REST gateway."""

    gateway_port: int = 8080
    scheduler_address: str = "127.0.0.1:50051"
