"""The SQLite store keeps its per-state and queued counts with every write instead of counting the file each time
the queue's statistics are read: after any mix of writes, a rolled-back one included, they equal a fresh count."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from services.scheduler import admission, core
from services.scheduler.feed import ChangeFeed
from services.scheduler.model import JobState, JobType, QueueCounts
from services.scheduler.store.base import AdmissionRequestKeys
from services.scheduler.store.sqlite import SqliteJobStore
from tests.scheduler.store_support import LIMITS, create

NOW = 6_000_000.0
TTL = 60.0


def noop(**kwargs: object) -> core.Submission:
    return core.Submission(JobType.NOOP, core.noop_input(b"x"), **kwargs)  # type: ignore[arg-type]


def counted_from_the_file(path: Path) -> tuple[dict[JobState, int], dict[int, int]]:
    with sqlite3.connect(path) as db:
        by_state = {JobState(s): n for s, n in db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state")}
        queued = dict(db.execute("SELECT priority, COUNT(*) FROM jobs WHERE state = 'QUEUED' GROUP BY priority"))
    return by_state, queued


def kept(counts: QueueCounts) -> tuple[dict[JobState, int], dict[int, int]]:
    return dict(counts.by_state), dict(counts.queued_by_priority)


async def test_kept_counts_equal_a_fresh_count_after_every_kind_of_write(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    store = SqliteJobStore(path, ChangeFeed())
    for priority in (0, 0, 1, 2):
        await create(store, noop(priority=priority), "alice", NOW)
    await create(store, noop(delay=5.0), "bob", NOW)  # SCHEDULED until NOW + 5
    assert kept(await store.counts(NOW)) == counted_from_the_file(path)

    started = await store.claim(worker="w", now=NOW, lease_seconds=10, limit=2, start=core.starter("w", NOW, 10))
    await store.transition(started[0].id, started[0].fence, lambda j: core.succeed(j, b"", NOW + 1, TTL), NOW + 1)
    queued = await store.list_jobs(owner="alice", states={JobState.QUEUED}, limit=10, before_id=None)
    await store.transition(queued[0].id, None, lambda j: core.cancel(j, "not needed", NOW + 1, TTL), NOW + 1)
    assert await store.release(NOW + 6, admission.releaser(NOW + 6, TTL)) == 1
    assert kept(await store.counts(NOW + 6)) == counted_from_the_file(path)

    # A batch whose second decision fails rolls back the first job's admission, and its count with it.
    request = admission.AdmissionRequest(noop(), "carol", NOW + 7, LIMITS, 100, admission.UNLIMITED, wait=lambda _: 0.0)
    keys = AdmissionRequestKeys("carol", 0, "", (), "")

    def fails(snapshot: object) -> object:
        raise RuntimeError("the decision fails after the batch admitted a job")

    with pytest.raises(RuntimeError):
        await store.admit_many([(keys, lambda snap: admission.decide(request, snap)), (keys, fails)])  # type: ignore[list-item]
    assert kept(await store.counts(NOW + 7)) == counted_from_the_file(path)

    assert await store.sweep(NOW + 2 + TTL) == 2  # the succeeded and the cancelled job
    by_state, queued_counts = kept(await store.counts(NOW + 2 + TTL))
    assert (by_state, queued_counts) == counted_from_the_file(path)
    assert Counter(by_state) == Counter({JobState.QUEUED: 2, JobState.RUNNING: 1})
    await store.close()

    reopened = SqliteJobStore(path, ChangeFeed())
    assert kept(await reopened.counts(NOW + 2 + TTL)) == (by_state, queued_counts)
    await reopened.close()
