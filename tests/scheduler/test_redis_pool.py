"""The Redis store's connection pool on the real server: a burst past its cap waits instead of failing, the
server never sees more connections than the cap, and connections a burst left idle are closed."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis
from redis.exceptions import MaxConnectionsError

from services.common import errors
from services.scheduler.feed import ChangeFeed
from services.scheduler.store.redis import RedisJobStore
from services.scheduler.store.redis_pool import PoolBusy, PoolLimits, TrimmedPool, open_client
from tests.scheduler.redis_support import delete_prefix, require_redis, unique_prefix
from tests.support import assert_eventually

pytestmark = pytest.mark.redis

BURST = 400


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def server_connections(url: str, name: str) -> int:
    """Connections the server holds for clients named `name` (CLIENT LIST, the server's own view)."""
    probe = aioredis.Redis.from_url(url)
    try:
        listed = await probe.client_list()
        return sum(1 for c in listed if c.get("name") == name)
    finally:
        await probe.aclose()


async def test_a_burst_past_the_cap_waits_and_the_server_sees_at_most_the_cap() -> None:
    url, name = await require_redis(), f"sbtest-pool-{uuid.uuid4().hex[:8]}"
    client, pool = open_client(url, PoolLimits(max_connections=5, wait_seconds=30.0), client_name=name)
    try:
        # BLPOP on a missing key with a short timeout holds each connection for a while, so the burst overlaps.
        key = f"sbtest:{uuid.uuid4().hex}:nothing"
        waits = await asyncio.gather(*(client.blpop([key], timeout=0.01) for _ in range(40)), return_exceptions=True)
        results: list[object] = [*waits]
        results += await asyncio.gather(*(client.ping() for _ in range(BURST)), return_exceptions=True)
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert 1 <= await server_connections(url, name) <= 5
        assert pool.open_connections() <= 5
    finally:
        await client.aclose()


async def test_the_default_pool_fails_the_same_burst() -> None:
    """Why the store does not use redis-py's default pool: at its cap it raises instead of waiting."""
    url = await require_redis()
    client = aioredis.Redis.from_url(url, max_connections=5)
    try:
        key = f"sbtest:{uuid.uuid4().hex}:nothing"
        results = await asyncio.gather(*(client.blpop([key], timeout=0.05) for _ in range(40)), return_exceptions=True)
        assert any(isinstance(r, MaxConnectionsError) for r in results)
    finally:
        await client.aclose()


async def test_connections_idle_past_the_limit_are_closed_and_reopened_on_demand() -> None:
    url, name, clock = await require_redis(), f"sbtest-pool-{uuid.uuid4().hex[:8]}", Clock()
    pool = TrimmedPool.from_url(url, max_connections=8, timeout=30.0, idle_seconds=30.0, clock=clock, client_name=name)
    assert isinstance(pool, TrimmedPool)
    client = aioredis.Redis.from_pool(pool)
    try:
        key = f"sbtest:{uuid.uuid4().hex}:nothing"
        await asyncio.gather(*(client.blpop([key], timeout=0.01) for _ in range(16)))
        opened = await server_connections(url, name)
        assert opened >= 2

        clock.now += 29.0
        assert await pool.trim() == 0  # not idle long enough
        await client.ping()  # one connection used again: it stays
        clock.now += 2.0
        assert await pool.trim() == opened - 1
        await assert_eventually(lambda: _count(url, name, 1))

        clock.now += 31.0
        assert await pool.trim() == 1
        await assert_eventually(lambda: _count(url, name, 0))
        assert await client.ping()  # a trimmed pool opens a connection again when asked
        assert await server_connections(url, name) == 1
    finally:
        await client.aclose()


async def _count(url: str, name: str, expected: int) -> bool:
    return await server_connections(url, name) == expected


async def test_the_store_answers_a_burst_of_reads_on_a_small_pool_with_one_subscription() -> None:
    url, prefix = await require_redis(), unique_prefix()
    store = RedisJobStore(url, ChangeFeed(), prefix=prefix, limits=PoolLimits(max_connections=3, wait_seconds=30.0))
    try:
        await store.open()  # the relay's subscription holds one of the three for good
        found = await asyncio.gather(*(store.get(f"missing-{i}") for i in range(BURST)), return_exceptions=True)
        assert found == [None] * BURST
        assert store.pool.open_connections() <= 3
        subscribers = await store._redis.pubsub_numsub(store.keys.channel)
        assert subscribers == [(store.keys.channel.encode(), 1)]
    finally:
        await store.close()
        await delete_prefix(url, prefix)


async def test_a_wait_past_the_timeout_is_unavailable_not_a_redis_error() -> None:
    """Callers of the store see a retryable UNAVAILABLE (the interceptor's mapping of errors.Unavailable)."""
    url = await require_redis()
    client, _ = open_client(url, PoolLimits(max_connections=1, wait_seconds=0.05))
    try:
        key = f"sbtest:{uuid.uuid4().hex}:nothing"
        holding = asyncio.create_task(client.blpop([key], timeout=2))
        await assert_eventually(lambda: _pool_in_use(client) == 1)
        with pytest.raises(errors.Unavailable) as caught:
            await client.ping()
        assert isinstance(caught.value, PoolBusy) and "stayed busy" in caught.value.message
        holding.cancel()
        await asyncio.gather(holding, return_exceptions=True)
    finally:
        await client.aclose()


def _pool_in_use(client: aioredis.Redis) -> int:
    pool = client.connection_pool
    assert isinstance(pool, TrimmedPool)
    return pool.open_connections()
