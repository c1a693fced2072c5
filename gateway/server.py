"""Runs the gateway under uvicorn: `serve(settings)` for the CLI, `main()` for `python -m gateway`."""

from __future__ import annotations

import logging

import uvicorn

from gateway.app import create_app
from gateway.settings import GatewaySettings
from services.common.logs import configure_logging

log = logging.getLogger(__name__)


def serve(settings: GatewaySettings) -> None:
    """Serves until SIGINT/SIGTERM (uvicorn drains open connections, then the app closes its channel)."""
    app = create_app(settings)
    log.info("gateway on http://%s:%d", settings.host, settings.gateway_port)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.gateway_port, log_config=None, timeout_graceful_shutdown=5
    )
    uvicorn.Server(config).run()


def main() -> None:
    settings = GatewaySettings.from_env()
    configure_logging(settings.log_level, json_lines=settings.log_json, service="gateway")
    serve(settings)
