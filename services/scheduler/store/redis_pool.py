"""The Redis store's connection pool: bounded, waiting at its cap, and closing connections a burst left idle.

redis-py's default pool raises MaxConnectionsError once its cap (100) is in use, so a burst of store calls (a
thousand WatchJob streams re-reading after one notice) failed calls instead of queueing them. A blocking pool
makes a call wait for a free connection, up to a timeout; and because redis-py never closes a pooled connection,
a replica would keep every connection of its largest burst for good. `trim` closes those idle for longer than
the idle limit (least recently used first, as the pool hands out the most recently released one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection, BlockingConnectionPool
from redis.exceptions import ConnectionError, RedisError

from services.common import errors

log = logging.getLogger(__name__)


class PoolBusy(errors.Unavailable):
    """Every connection of the pool stayed in use for the whole wait."""

    reason = "STORE_BUSY"


@dataclass(frozen=True)
class PoolLimits:
    """How many connections one process opens to Redis, how long a call waits for one at the cap, and how long
    one may sit unused before it is closed."""

    max_connections: int = 64
    wait_seconds: float = 10.0
    idle_seconds: float = 30.0


class TrimmedPool(BlockingConnectionPool):
    """A BlockingConnectionPool that remembers when each connection was last released, so `trim` can close
    those idle past `idle_seconds`."""

    def __init__(self, *, idle_seconds: float, clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._released_at: weakref.WeakKeyDictionary[AbstractConnection, float] = weakref.WeakKeyDictionary()

    async def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> AbstractConnection:
        """A connection, waiting up to the pool's timeout at the cap. Past it the call is UNAVAILABLE (the store
        is busy: retry), not redis-py's ConnectionError, which would reach the caller as INTERNAL."""
        try:
            connection: AbstractConnection = await super().get_connection()  # type: ignore[no-untyped-call]
        except ConnectionError as exc:
            if self.open_connections() < self.max_connections:
                raise  # the server itself is unreachable: the store's own error
            raise PoolBusy(
                f"all {self.max_connections} Redis connections stayed busy for {self.timeout} s: retry shortly"
            ) from exc
        return connection

    async def release(self, connection: AbstractConnection) -> None:
        self._released_at[connection] = self._clock()
        await super().release(connection)

    def open_connections(self) -> int:
        """Connections in use plus idle ones still connected."""
        idle = sum(1 for c in self._available_connections if c.is_connected)
        return len(self._in_use_connections) + idle

    async def trim(self) -> int:
        """Closes the connections idle for longer than idle_seconds; returns how many. They leave the pool first
        (no await in between), so no caller can be handed one while it closes."""
        cutoff = self._clock() - self.idle_seconds
        stale = [c for c in self._available_connections if self._released_at.get(c, cutoff) <= cutoff]
        if not stale:
            return 0
        gone = set(map(id, stale))
        self._available_connections[:] = [c for c in self._available_connections if id(c) not in gone]
        closed = 0
        for connection in stale:
            if connection.is_connected:
                closed += 1
            with contextlib.suppress(RedisError, OSError):
                await connection.disconnect()
        return closed


def open_client(url: str, limits: PoolLimits, **connection: Any) -> tuple[aioredis.Redis, TrimmedPool]:
    """A client on its own TrimmedPool for `url` (the client closes the pool when it closes)."""
    pool = TrimmedPool.from_url(
        url,
        max_connections=limits.max_connections,
        timeout=limits.wait_seconds,
        idle_seconds=limits.idle_seconds,
        **connection,
    )
    assert isinstance(pool, TrimmedPool)
    return aioredis.Redis.from_pool(pool), pool


async def trim_forever(pool: TrimmedPool) -> None:
    """Trims the pool every half idle limit, so a connection is closed at most 1.5 idle limits after its last use."""
    while True:
        await asyncio.sleep(max(pool.idle_seconds / 2, 0.05))  # a periodic timer, not synchronisation
        closed = await pool.trim()
        if closed:
            log.debug("closed %d idle Redis connections", closed)
