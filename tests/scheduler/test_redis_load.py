"""A bounded run of the Redis load (tests/load/run.py; `make load` runs the full size): 300 WatchJob streams and
50 SSE watchers on one replica whose pool is far smaller than the burst, with submitters posting through the
gateway. With redis-py's default pool this ended streams INTERNAL and answered SSE with 502."""

from __future__ import annotations

import pytest

from services.common.settings import Settings
from services.scheduler.store.redis_pool import PoolLimits
from tests.load.run import run_load
from tests.scheduler.redis_support import require_redis

pytestmark = pytest.mark.redis

MAX_CONNECTIONS = 8


async def test_hundreds_of_watchers_on_one_replica_end_without_errors_within_the_pool_cap(settings: Settings) -> None:
    url = await require_redis()
    figures = await run_load(
        settings,
        streams=300,
        sse_watchers=50,
        submitters=5,
        submits_each=4,
        limits=PoolLimits(max_connections=MAX_CONNECTIONS, wait_seconds=30.0),
        url=url,
    )
    assert figures.stream_errors == []
    assert figures.sse_errors == []
    assert figures.submit_errors == []
    assert 1 <= figures.peak_replica_connections <= MAX_CONNECTIONS
