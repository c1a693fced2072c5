"""The gateway app started with its lifespan (so uploads are read by real worker processes, stopped at the
end), and a function that posts a file to POST /v1/extract-text."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from gateway.app import create_app
from services.common.settings import Settings

Post = Callable[..., Awaitable[httpx.Response]]


@asynccontextmanager
async def uploads(settings: Settings, limit: int = 1024 * 1024) -> AsyncIterator[Post]:
    app: FastAPI = create_app(settings, max_upload_bytes=limit)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw", timeout=120.0) as http,
    ):

        async def post(name: str, data: bytes, key: str | None = None) -> httpx.Response:
            headers = {"authorization": f"Bearer {key}"} if key else {}
            return await http.post("/v1/extract-text", files={"file": (name, data)}, headers=headers)

        yield post
