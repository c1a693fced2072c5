"""create_app(): the gateway's FastAPI app, wired from settings. Nothing is built at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, HTTPException, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from skillbridge_client import AsyncSchedulerClient, SkillBridgeError

from gateway.errors import handle_sdk_error
from gateway.extract import ExtractError, extract_text
from gateway.metrics import GatewayMetrics
from gateway.routes_seed import build_seed_router
from gateway.routes_v1 import build_v1_router
from gateway.settings import GatewaySettings
from services.common.process_settings import REPO_ROOT

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
WEB_CLIENT_DIR = REPO_ROOT / "clients" / "web"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def create_app(
    settings: GatewaySettings,
    *,
    client: AsyncSchedulerClient | None = None,
    call_timeout: float = 10.0,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
) -> FastAPI:
    """The gateway app. `client` is the scheduler client to use (tests pass one); without it one is built
    for settings.scheduler_address on first use and closed at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if app.state.owns_client and app.state.client is not None:
            await app.state.client.close()

    app = FastAPI(
        title="SkillBridge gateway",
        version="1.0",
        description="HTTP/JSON and server-sent events in front of the SkillBridge JobScheduler.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.client = client
    app.state.owns_client = False
    app.state.call_timeout = call_timeout
    metrics = GatewayMetrics()
    app.add_middleware(_MetricsMiddleware, metrics=metrics)
    app.add_exception_handler(SkillBridgeError, handle_sdk_error)

    app.include_router(build_v1_router())
    seed = build_seed_router()
    app.include_router(seed)
    app.include_router(seed, prefix="/api/v1")

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """Liveness of the gateway process."""
        return {"status": "ok"}

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def prometheus() -> Response:
        return metrics.render()

    @app.post("/v1/extract-text", tags=["v1"])
    async def extract(file: Annotated[UploadFile, File(description=".txt, .pdf or .docx")]) -> dict[str, Any]:
        """The plain text of an uploaded resume or job description."""
        data = await file.read(max_upload_bytes + 1)
        if len(data) > max_upload_bytes:
            raise HTTPException(413, detail=f"file larger than {max_upload_bytes // 1024} KiB")
        try:
            text = await run_in_threadpool(extract_text, file.filename or "", data)
        except ExtractError as exc:
            raise HTTPException(exc.status, detail=str(exc)) from None
        return {"filename": file.filename, "text": text, "characters": len(text)}

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=WEB_CLIENT_DIR), name="static")
    return app


class _MetricsMiddleware:
    """Adapts GatewayMetrics.middleware to Starlette's add_middleware(cls, **options)."""

    def __init__(self, app: Any, metrics: GatewayMetrics) -> None:
        self._wrapped = metrics.middleware(app)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._wrapped(scope, receive, send)
