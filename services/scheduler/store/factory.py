"""Opens the store that settings.store names."""

from __future__ import annotations

from services.scheduler.feed import ChangeFeed
from services.scheduler.settings import SchedulerSettings
from services.scheduler.store.base import JobStore
from services.scheduler.store.redis import RedisJobStore
from services.scheduler.store.redis_pool import PoolLimits
from services.scheduler.store.sqlite import SqliteJobStore

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def open_store(settings: SchedulerSettings, feed: ChangeFeed) -> JobStore:
    """sqlite:///path (the embedded default) or redis://host:port/db[?prefix=name:] (shared by replicas).
    Raises ValueError for a scheme this build does not know."""
    if settings.store.startswith("sqlite:///"):
        return SqliteJobStore(settings.sqlite_path(), feed)
    if settings.store.startswith(REDIS_SCHEMES):
        limits = PoolLimits(
            max_connections=settings.redis_max_connections,
            wait_seconds=settings.redis_pool_wait_seconds,
            idle_seconds=settings.redis_idle_seconds,
        )
        return RedisJobStore(settings.store, feed, limits=limits)
    raise ValueError(f"SKILLBRIDGE_STORE={settings.store!r}: use sqlite:///path or redis://host:port/db")
