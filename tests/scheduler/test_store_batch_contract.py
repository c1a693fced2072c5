"""The JobStore contract for admit_many: a batch is decided job by job, in order, each decision seeing the jobs
before it in the same batch, and written whole or not at all. Run against every store, like
test_store_contract. A batch is one owner's (SubmitJobs is one caller's). The SQLite store reads once per batch
and keeps what it read in step in memory, so the last test checks it against submits one at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common import errors
from services.scheduler import admission, core
from services.scheduler.feed import ChangeFeed
from services.scheduler.model import EventKind, JobRecord, JobState, JobType, Quota
from services.scheduler.store.base import AdmissionRequestKeys, Decide, JobStore
from services.scheduler.store.sqlite import SqliteJobStore
from services.scheduler.store.sqlite_tables import JOB_COLUMNS, job_row
from tests.scheduler.store_support import LIMITS
from tests.scheduler.test_store_contract import store  # noqa: F401 - the parametrized store fixture

NOW = 2_000_000.0


def submit(
    owner: str, *, priority: int = 0, request_id: str = "", quota: Quota | None = None, at: float = NOW
) -> tuple[AdmissionRequestKeys, Decide]:
    sub = core.Submission(JobType.NOOP, core.noop_input(b"x"), priority=priority, request_id=request_id)
    decided = admission.AdmissionRequest(
        sub, owner, at, LIMITS, 10_000, quota or admission.UNLIMITED, wait=lambda position: 0.0
    )
    keys = AdmissionRequestKeys(owner, priority, request_id, count_pending=quota is not None)
    return keys, lambda snapshot: admission.decide(decided, snapshot)


async def queued_position(store: JobStore, job: JobRecord) -> int:  # noqa: F811
    events = await store.events(job.id, 0)
    return int(next(e.data["position"] for e in events if e.kind is EventKind.QUEUED))


async def test_a_request_id_repeated_inside_a_batch_is_the_first_job(store: JobStore) -> None:  # noqa: F811
    done = await store.admit_many([submit("a", request_id="r"), submit("a", request_id="r"), submit("a")])
    assert [created for _, created in done] == [True, False, True]
    assert done[1][0].id == done[0][0].id
    assert len(await store.list_jobs(owner=None, states=(), limit=10, before_id=None)) == 2


async def test_a_rate_limit_reached_inside_a_batch_stores_nothing(store: JobStore) -> None:  # noqa: F811
    quota = Quota("standard", 9, 0, 0, 1.0, 2)
    with pytest.raises(errors.ResourceExhausted):
        await store.admit_many([submit("a", quota=quota) for _ in range(3)])
    assert await store.list_jobs(owner=None, states=(), limit=10, before_id=None) == []
    # The refused batch took no tokens: the burst of two is still there.
    done = await store.admit_many([submit("a", quota=quota) for _ in range(2)])
    assert all(created for _, created in done)
    with pytest.raises(errors.ResourceExhausted):
        await store.admit(*submit("a", quota=quota))


async def test_a_queued_jobs_quota_counts_the_batch_itself(store: JobStore) -> None:  # noqa: F811
    quota = Quota("standard", 9, 3, 0, 0.0, 0)
    await store.admit(*submit("a", quota=quota))
    with pytest.raises(errors.ResourceExhausted):
        await store.admit_many([submit("a", quota=quota) for _ in range(3)])
    done = await store.admit_many([submit("a", quota=quota), submit("a", quota=quota)])
    assert all(created for _, created in done)
    assert (await store.owner_usage("a")).pending == 3
    with pytest.raises(errors.ResourceExhausted):
        await store.admit(*submit("a", quota=quota))


async def test_positions_in_a_batch_follow_the_fair_order(store: JobStore) -> None:  # noqa: F811
    for owner in ("a", "a", "a", "c"):
        await store.admit(*submit(owner))
    done = await store.admit_many([submit("b"), submit("b"), submit("b", priority=2), submit("b")])
    jobs = [job for job, _ in done]
    # Each job's queued event says its place when it entered: b's rounds 0, 1 and 2 interleave with a's, after
    # c's round-0 job (submitted earlier); the priority-2 job goes before everyone.
    assert [await queued_position(store, j) for j in jobs] == [3, 5, 1, 8]
    claimed = await store.claim(worker="w", now=NOW, lease_seconds=30, limit=10, start=core.starter("w", NOW, 30))
    assert [j.owner for j in claimed] == ["b", "a", "c", "b", "a", "b", "a", "b"]
    assert claimed[0].id == jobs[2].id


async def test_sqlite_batch_decides_as_submits_one_at_a_time(tmp_path: Path) -> None:
    """The same requests, as one batch and as single submits, give the same states, rounds, submit order,
    queued positions and claim order."""
    plan = [("a", 0), ("a", 0), ("b", 1), ("a", 1), ("c", 0), ("b", 0), ("b", 1), ("a", 0), ("c", 2), ("c", 0)]
    stores = [SqliteJobStore(tmp_path / f"{name}.db", ChangeFeed()) for name in ("batch", "single")]
    batch, single = stores
    try:
        for owner in ("a", "b"):  # some history: rounds and queued jobs before the batch
            for s in stores:
                await s.admit(*submit(owner))
        by_batch = [job for job, _ in await batch.admit_many([submit(o, priority=p) for o, p in plan])]
        by_single = [(await single.admit(*submit(o, priority=p)))[0] for o, p in plan]
        for left, right in zip(by_batch, by_single, strict=True):
            assert (left.state, left.fair_round, left.queue_seq, left.owner, left.priority) == (
                right.state,
                right.fair_round,
                right.queue_seq,
                right.owner,
                right.priority,
            )
            assert left.state is JobState.QUEUED
            assert await queued_position(batch, left) == await queued_position(single, right)
            assert await batch.position(left) == await single.position(right)
        orders = []
        for s, made in ((batch, by_batch), (single, by_single)):
            claimed = await s.claim(worker="w", now=NOW, lease_seconds=30, limit=20, start=core.starter("w", NOW, 30))
            index = {job.id: i for i, job in enumerate(made)}
            orders.append([index.get(job.id, -1) for job in claimed])
        assert orders[0] == orders[1]
    finally:
        for s in stores:
            await s.close()


async def test_sqlite_batch_rows_hold_the_record_whatever_statement_inserted_them(tmp_path: Path) -> None:
    """New jobs with no times of their own go in through a shorter statement than scheduled ones: in a batch
    that mixes them, every row still holds what its record says, in submit order, and the input reads back."""
    sqlite = SqliteJobStore(tmp_path / "mixed.db", ChangeFeed())
    later = core.Submission(JobType.NOOP, core.noop_input(b"later"), delay=60.0)
    plain = core.Submission(JobType.NOOP, core.noop_input(b"now"))
    named = core.Submission(JobType.NOOP, core.noop_input(b"named"), request_id="r-1")
    subs = [plain, later, later, named, plain, later, named]

    def decision(sub: core.Submission) -> tuple[AdmissionRequestKeys, Decide]:
        decided = admission.AdmissionRequest(sub, "ann", NOW, LIMITS, 10_000, wait=lambda position: 0.0)
        return AdmissionRequestKeys("ann", 0, sub.request_id), lambda snapshot: admission.decide(decided, snapshot)

    batch = [decision(sub) for sub in subs]
    try:
        made = [job for job, _ in await sqlite.admit_many(batch)]
        assert [job.state for job in made] == [
            JobState.QUEUED,
            JobState.SCHEDULED,
            JobState.SCHEDULED,
            JobState.QUEUED,
            JobState.QUEUED,
            JobState.SCHEDULED,
            JobState.QUEUED,
        ]
        assert made[6] is made[3]  # the repeated request_id is the first job
        rows = sqlite._db.execute(f"SELECT {JOB_COLUMNS} FROM jobs ORDER BY rowid").fetchall()
        assert rows == [job_row(job) for job in made[:6]]
        for job, sub in zip(made[:6], subs, strict=False):
            stored = await sqlite.get(job.id)
            assert stored is not None and stored.input == sub.input and stored.not_before == job.not_before
    finally:
        await sqlite.close()
