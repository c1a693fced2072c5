"""arq 0.25: `enqueue_job()`, `Job.result()`; defaults (poll 0.5 s) and worker + client polling every 0.01 s."""

from __future__ import annotations

import os
import sys
from typing import Any

from arq import create_pool, run_worker
from arq.connections import ArqRedis, RedisSettings
from arq.jobs import Job, ResultNotFound

URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
POLL = {"default": 0.5, "poll10ms": 0.01}


async def noop(ctx: dict[str, Any], payload: str) -> None:
    return None


class Defaults:
    functions = [noop]  # noqa: RUF012 - arq reads these class attributes
    redis_settings = RedisSettings.from_dsn(URL)


class Poll10ms:
    functions = [noop]  # noqa: RUF012 - arq reads these class attributes (not inherited ones)
    redis_settings = RedisSettings.from_dsn(URL)
    poll_delay = 0.01


class Adapter:
    def __init__(self, url: str, variant: str) -> None:
        self.url, self.variant, self.poll = url, variant, POLL[variant]
        self.label = (
            "arq (defaults: max_jobs 10, poll 0.5 s)" if variant == "default" else "arq (worker + client poll 0.01 s)"
        )
        self.pool: ArqRedis | None = None
        self.misses = 0

    async def open(self) -> None:
        self.pool = await create_pool(RedisSettings.from_dsn(self.url))

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.aclose()

    async def enqueue(self, payload: str) -> str:
        assert self.pool is not None
        job = await self.pool.enqueue_job("noop", payload)
        assert job is not None
        return f"arq:result:{job.job_id}"

    def done_many(self, client: Any, keys: list[str]) -> list[bool]:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.exists(key)
        return [bool(n) for n in pipe.execute()]

    async def roundtrip(self, payload: str) -> None:
        assert self.pool is not None
        job = await self.pool.enqueue_job("noop", payload)
        assert job is not None
        for _ in range(3):  # arq reads result and queue score separately: a job ending in between is "not found"
            try:
                await job.result(timeout=10, poll_delay=self.poll)
                return
            except ResultNotFound:
                self.misses += 1
        await Job(job.job_id, self.pool).result(timeout=10, poll_delay=self.poll)

    def worker_argv(self) -> list[str]:
        return [sys.executable, __file__, "Defaults" if self.variant == "default" else "Poll10ms"]


if __name__ == "__main__":
    # Our own launcher instead of the `arq` CLI, whose logging config logs every job at INFO.
    run_worker(globals()[sys.argv[1]])
