"""A scheduler with stage doubles and the gateway under uvicorn, run on an event loop of their own in a
background thread: for synchronous drivers such as schemathesis, which call the API while the test's own code
blocks."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from skillbridge_client import AsyncSchedulerClient

from gateway.app import create_app
from services.common.settings import Settings
from tests.gateway.live import served
from tests.sdk.harness import running_stack


@contextmanager
def gateway_in_thread(settings: Settings, *, start_within: float = 30.0) -> Iterator[str]:
    """Serves a real scheduler and gateway until the block ends; yields the gateway's base URL."""
    ready = threading.Event()
    found: dict[str, object] = {}
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def run() -> None:
        try:
            async with (
                running_stack(settings) as stack,
                AsyncSchedulerClient(stack.address) as client,
                served(create_app(stack.settings, client=client)) as base,
            ):
                found["base"] = base
                ready.set()
                await stop.wait()
        except BaseException as exc:
            found["error"] = exc
            ready.set()
            raise

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), name="gateway", daemon=True)
    thread.start()
    try:
        if not ready.wait(start_within) or "error" in found:
            raise RuntimeError(f"the gateway did not start: {found.get('error')!r}")
        yield str(found["base"])
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
