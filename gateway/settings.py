"""The gateway process's settings: its port, where the scheduler is, its deadlines, keys and upload limits."""

from __future__ import annotations

from services.common.process_settings import AuthSettings


class GatewaySettings(AuthSettings):
    """Configuration of the REST gateway."""

    gateway_port: int = 8080
    scheduler_address: str = "127.0.0.1:50051"
    # Deadline of each scheduler call, and of the first answer of an event stream (so a scheduler that is down is
    # a prompt 503).
    gateway_call_timeout_seconds: float = 10.0
    gateway_connect_timeout_seconds: float = 3.0
    # Uploads (POST /v1/extract-text): files are read in worker processes, at most this many at once, each within
    # the time limit and with this much memory above the worker's own footprint.
    extract_workers: int = 2
    extract_timeout_seconds: float = 10.0
    extract_memory_mb: int = 256
    # The scheduler's largest text, so the gateway refuses the same inputs over REST as it does over gRPC.
    max_text_bytes: int = 200_000
    max_priority: int = 9
