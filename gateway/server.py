"""Runs the gateway under uvicorn: `serve(settings)` for the CLI, `main()` for `python -m gateway`."""

from __future__ import annotations

import logging

import uvicorn

from gateway.app import create_app
from gateway.redact import install_log_redaction
from gateway.settings import GatewaySettings
from services.common.exposure import exit_if_exposed
from services.common.logs import configure_logging

log = logging.getLogger(__name__)


def serve(settings: GatewaySettings) -> None:
    """Serves until SIGINT/SIGTERM (uvicorn drains open connections, then the app closes its channel). Exits at
    once when it would serve unauthenticated callers on a reachable address (services.common.exposure)."""
    exit_if_exposed(settings, settings.host, settings.gateway_port, "gateway")
    app = create_app(settings)
    install_log_redaction()  # after logging is configured: its handlers get the filter
    log.info("gateway on http://%s:%d", settings.host, settings.gateway_port)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.gateway_port, log_config=None, timeout_graceful_shutdown=5
    )
    uvicorn.Server(config).run()


def main() -> None:
    settings = GatewaySettings.from_env()
    configure_logging(settings.log_level, json_lines=settings.log_json, service="gateway")
    serve(settings)
