"""A gateway served for real by uvicorn on a free port, inside the test's event loop (for tests that need a
real socket: SSE disconnects, the browser)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI

from tests.support import assert_eventually


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """Serves `app` on 127.0.0.1:<free port>; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())
    await assert_eventually(lambda: server.started or task.done(), message="uvicorn did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        server.force_exit = True  # open SSE streams must not hold the test up
        await task


@dataclass
class Frame:
    """One server-sent event."""

    event: str
    data: dict[str, Any]
    id: int | None


def parse_frames(text: str) -> list[Frame]:
    """Parses a complete text/event-stream body."""
    return [frame for block in text.split("\n\n") if (frame := parse_frame(block)) is not None]


def parse_frame(block: str) -> Frame | None:
    event, data, ident = "message", "", None
    for line in block.splitlines():
        name, _, value = line.partition(": ")
        if name == "event":
            event = value
        elif name == "data":
            data += value
        elif name == "id":
            ident = int(value)
    return Frame(event, json.loads(data), ident) if data else None
