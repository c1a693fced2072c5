"""Opens the store that settings.store names."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from services.scheduler.feed import ChangeFeed
from services.scheduler.settings import SchedulerSettings
from services.scheduler.store.base import JobStore
from services.scheduler.store.redis import RedisJobStore
from services.scheduler.store.redis_pool import PoolLimits
from services.scheduler.store.sqlite import SqliteJobStore

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


# sqlite3 errors that pass with time: another process holds the file.
TRANSIENT_SQLITE = ("locked", "busy")


class StoreOpenError(Exception):
    """The store named by the settings cannot be opened; the message names it and says what to do."""


def cannot_open(path: Path, exc: BaseException) -> str:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return (
        f"cannot open the store sqlite:///{path} ({reason}): if the file is damaged, move it away (a new one is "
        "created); otherwise point SKILLBRIDGE_STORE at a writable path (sqlite:///path/to/file.db)"
    )


def open_store(settings: SchedulerSettings, feed: ChangeFeed) -> JobStore:
    """sqlite:///path (the embedded default) or redis://host:port/db[?prefix=name:] (shared by replicas).
    Raises ValueError for a scheme this build does not know, StoreOpenError for a SQLite file that cannot be
    opened (not a database, an unwritable or impossible path)."""
    if settings.store.startswith("sqlite:///"):
        path = settings.sqlite_path()
        try:
            return SqliteJobStore(path, feed)
        except sqlite3.OperationalError as exc:
            if any(word in str(exc).lower() for word in TRANSIENT_SQLITE):
                raise  # another process holds a lock: a crash to retry, not a configuration error
            raise StoreOpenError(cannot_open(path, exc)) from exc
        except (sqlite3.Error, OSError) as exc:
            raise StoreOpenError(cannot_open(path, exc)) from exc
    if settings.store.startswith(REDIS_SCHEMES):
        limits = PoolLimits(
            max_connections=settings.redis_max_connections,
            wait_seconds=settings.redis_pool_wait_seconds,
            idle_seconds=settings.redis_idle_seconds,
        )
        return RedisJobStore(settings.store, feed, limits=limits)
    raise ValueError(f"SKILLBRIDGE_STORE={settings.store!r}: use sqlite:///path or redis://host:port/db")
