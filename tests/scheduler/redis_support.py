"""Redis for the scheduler's tests: the server at REDIS_URL, a unique key prefix per test, cleanup after.

Other people's tests share this Redis, so nothing here flushes a database: only the keys under our prefix go.
Without Redis a test skips with the reason, unless SKILLBRIDGE_REQUIRE_SERVICES=1 (CI), where it fails.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.settings import Settings
from services.scheduler.feed import ChangeFeed
from services.scheduler.server import start
from services.scheduler.store.redis import RedisJobStore

DEFAULT_URL = "redis://127.0.0.1:6379/0"


def redis_url() -> str:
    return os.environ.get("REDIS_URL", DEFAULT_URL)


def unique_prefix() -> str:
    return f"sbtest:{uuid.uuid4().hex[:12]}:"


async def require_redis() -> str:
    """The Redis URL once the server answers; otherwise skips, or fails when services are required."""
    url = redis_url()
    client = aioredis.Redis.from_url(url, socket_connect_timeout=2.0, socket_timeout=2.0)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        why = f"Redis at {url} is unreachable: {exc}"
        if os.environ.get("SKILLBRIDGE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{why} (SKILLBRIDGE_REQUIRE_SERVICES=1)")
        pytest.skip(f"{why}; set REDIS_URL, or SKILLBRIDGE_REQUIRE_SERVICES=1 to make this a failure")
    finally:
        await client.aclose()
    return url


async def delete_prefix(url: str, prefix: str) -> int:
    """Deletes every key under `prefix`; returns how many."""
    client = aioredis.Redis.from_url(url)
    deleted = 0
    try:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += await client.unlink(*batch)
                batch = []
        if batch:
            deleted += await client.unlink(*batch)
    finally:
        await client.aclose()
    return deleted


@contextlib.asynccontextmanager
async def scheduler_on(store: str, settings: Settings) -> AsyncIterator[pb_grpc.JobSchedulerServiceStub]:
    """A scheduler (port 0) on `store` ("sqlite" or "redis", under a prefix of its own) and a stub to it;
    stopped, and its Redis keys deleted, afterwards."""
    url = prefix = ""
    if store == "redis":
        url, prefix = await require_redis(), unique_prefix()
        feed = ChangeFeed()
        server = await start(settings, port=0, store=RedisJobStore(url, feed, prefix=prefix), feed=feed)
    else:
        server = await start(settings, port=0)
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            yield pb_grpc.JobSchedulerServiceStub(channel)
    finally:
        await server.stop(0.1)
        if prefix:
            await delete_prefix(url, prefix)
