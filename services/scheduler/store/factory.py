"""Opens the store that settings.store names."""

from __future__ import annotations

from services.common.settings import Settings
from services.scheduler.feed import ChangeFeed
from services.scheduler.store.base import JobStore
from services.scheduler.store.sqlite import SqliteJobStore


def open_store(settings: Settings, feed: ChangeFeed) -> JobStore:
    """sqlite:///path (the embedded default). Raises ValueError for a scheme this build does not know."""
    if settings.store.startswith("sqlite:///"):
        return SqliteJobStore(settings.sqlite_path(), feed)
    raise ValueError(f"SKILLBRIDGE_STORE={settings.store!r}: only sqlite:///path is supported")
