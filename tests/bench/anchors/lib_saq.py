"""saq 0.26: `Queue.enqueue()`, `Job.refresh(until_complete=...)`; defaults, and a client that keeps a listener open.

`refresh(until_complete)` subscribes per call, so a job that ends before the subscription is active is never
notified; the wait runs in 0.1 s slices that re-read the job (a miss costs one slice, counted in `misses`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from typing import Any

from saq import Queue

URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SLICE_SECONDS = 0.1


async def noop(ctx: dict[str, Any], *, payload: str) -> None:
    return None


settings = {"queue": Queue.from_url(URL), "functions": [noop], "concurrency": 10}


class Adapter:
    def __init__(self, url: str, variant: str) -> None:
        self.url, self.variant = url, variant
        self.label = "saq (defaults: concurrency 10)" if variant == "default" else "saq (client keeps a listener open)"
        self.queue: Queue | None = None
        self.listener: asyncio.Task[None] | None = None
        self.misses = 0

    async def open(self) -> None:
        self.queue = Queue.from_url(self.url)
        await self.queue.connect()
        if self.variant == "listener":
            # A listener on a job that never ends keeps the queue's one pattern subscription open between waits.
            self.listener = asyncio.create_task(self.queue.listen(["never-ends"], lambda _k, _s: False, timeout=None))

    async def close(self) -> None:
        if self.listener is not None:
            self.listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.listener
        if self.queue is not None:
            await self.queue.disconnect()

    async def enqueue(self, payload: str) -> str:
        assert self.queue is not None
        job = await self.queue.enqueue("noop", payload=payload)
        assert job is not None
        return str(job.id)

    def done_many(self, client: Any, keys: list[str]) -> list[bool]:
        return [raw is not None and json.loads(raw)["status"] == "complete" for raw in client.mget(keys)]

    async def roundtrip(self, payload: str) -> None:
        assert self.queue is not None
        job = await self.queue.enqueue("noop", payload=payload)
        assert job is not None
        for _ in range(int(10 / SLICE_SECONDS)):
            with contextlib.suppress(TimeoutError):
                await job.refresh(until_complete=SLICE_SECONDS)
            if job.completed:
                return
            self.misses += 1
        raise TimeoutError("saq job not complete within 10 s")

    def worker_argv(self) -> list[str]:
        return [sys.executable, "-m", "saq", "lib_saq.settings"]
