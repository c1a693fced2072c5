"""The SQLite store's write-ahead log is folded into the database file by a thread of its own, never inside a
commit on the event loop."""

from __future__ import annotations

import threading
from pathlib import Path

from services.scheduler import core
from services.scheduler.feed import ChangeFeed
from services.scheduler.model import JobType, NoopInput
from services.scheduler.store import sqlite_checkpoint
from services.scheduler.store.sqlite import SqliteJobStore
from tests.scheduler.store_support import create
from tests.support import assert_eventually

NOW = 4_000_000.0


async def test_commits_do_not_checkpoint_and_the_thread_does(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    store = SqliteJobStore(path, ChangeFeed())
    try:
        (automatic,) = store._db.execute("PRAGMA wal_autocheckpoint").fetchone()
        assert automatic == 0
        size = path.stat().st_size
        sub = core.Submission(JobType.NOOP, NoopInput(b"x" * 4096))
        for i in range(sqlite_checkpoint.COMMITS_PER_CHECKPOINT + 1):
            await create(store, sub, "ann", NOW + i, max_queue_depth=1000)
        # Only a checkpoint copies pages into the database file; the commits wrote to the log alone.
        await assert_eventually(lambda: path.stat().st_size > size, message="the log was never checkpointed")
    finally:
        await store.close()
    assert not any(t.name == "sqlite-checkpoint" for t in threading.enumerate()), "close() stops the thread"
