"""create_app(): the gateway's FastAPI app, wired from settings. Nothing is built at import time: the routes
live in the routes_* modules, and this module only wires them with the error handlers and middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from skillbridge_client import AsyncSchedulerClient

from gateway.body_limit import BodyLimit
from gateway.errors import error_responses, install_error_handlers
from gateway.metrics import GatewayMetrics
from gateway.openapi import install_openapi
from gateway.pages import add_pages
from gateway.redact import AccessTokenRedaction
from gateway.routes_events import build_events_router
from gateway.routes_ops import build_ops_router
from gateway.routes_seed import build_seed_router
from gateway.routes_v1 import build_v1_router
from gateway.settings import GatewaySettings
from gateway.uploads import build_upload_router

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def create_app(
    settings: GatewaySettings,
    *,
    client: AsyncSchedulerClient | None = None,
    call_timeout: float | None = None,
    connect_timeout: float | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
) -> FastAPI:
    """The gateway app. `client` is the scheduler client to use (tests pass one); without it one is built
    for settings.scheduler_address on first use and closed at shutdown. The timeouts default to the settings'
    gateway_call_timeout_seconds and gateway_connect_timeout_seconds."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if app.state.owns_client and app.state.client is not None:
            await app.state.client.close()

    app = FastAPI(
        title="SkillBridge gateway",
        version="1.0",
        description="HTTP/JSON and server-sent events in front of the SkillBridge JobScheduler. Every error "
        "answer has one shape: `detail`, `code`, `field_violations`, `retry_after_seconds`.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.client = client
    app.state.owns_client = False
    app.state.call_timeout = settings.gateway_call_timeout_seconds if call_timeout is None else call_timeout
    app.state.connect_timeout = settings.gateway_connect_timeout_seconds if connect_timeout is None else connect_timeout
    app.state.max_upload_bytes = max_upload_bytes
    metrics = GatewayMetrics()
    # Starlette runs the last added outermost: the token leaves the query string before anything else sees it.
    app.add_middleware(BodyLimit, max_bytes=settings.max_message_bytes)
    app.add_middleware(_MetricsMiddleware, metrics=metrics)
    app.add_middleware(AccessTokenRedaction)
    install_error_handlers(app)
    install_openapi(app, settings)

    app.include_router(build_v1_router())
    app.include_router(build_events_router())
    app.include_router(
        build_upload_router(
            settings, max_upload_bytes=max_upload_bytes, responses=error_responses(400, 401, 413, 415, 503)
        )
    )
    seed = build_seed_router()
    app.include_router(seed)
    app.include_router(seed, prefix="/api/v1")
    app.include_router(build_ops_router(metrics))
    # Last: the page routes replace FastAPI's CDN-based /docs and /redoc with assets served from here.
    add_pages(app)
    return app


class _MetricsMiddleware:
    """Adapts GatewayMetrics.middleware to Starlette's add_middleware(cls, **options)."""

    def __init__(self, app: Any, metrics: GatewayMetrics) -> None:
        self._wrapped = metrics.middleware(app)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._wrapped(scope, receive, send)
