"""The JobStore contract: every store implementation must pass these, unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.scheduler import core, idempotency
from services.scheduler.feed import ChangeFeed
from services.scheduler.model import CourseInput, EventKind, JobRecord, JobState, JobType, NewEvent, Stage
from services.scheduler.store.base import JobStore
from services.scheduler.store.redis import RedisJobStore
from services.scheduler.store.sqlite import SqliteJobStore
from tests.scheduler.redis_support import delete_prefix, require_redis, unique_prefix
from tests.scheduler.store_support import create

NOW = 1_000_000.0


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobStore]:
    if request.param == "redis":
        url, prefix = await require_redis(), unique_prefix()
        redis_store = RedisJobStore(url, ChangeFeed(), prefix=prefix)
        try:
            yield redis_store
        finally:
            await redis_store.close()
            await delete_prefix(url, prefix)
        return
    opened: JobStore = SqliteJobStore(tmp_path / "jobs.db", ChangeFeed())
    yield opened
    await opened.close()


def queued(position: int) -> NewEvent:
    return NewEvent(EventKind.QUEUED, {"position": position, "estimated_wait": 0.0})


async def submit(
    store: JobStore, owner: str = "alice", priority: int = 0, request_id: str = "", course: bool = False
) -> JobRecord:
    if course:
        texts = CourseInput("Python", "Python and SQL")
        sub = core.Submission(type=JobType.COURSE_RECOMMENDATION, input=texts, priority=priority)
    else:
        sub = core.Submission(JobType.NOOP, core.noop_input(b"x"), priority=priority, request_id=request_id)
    stored, created = await create(store, sub, owner, NOW)
    assert created
    return stored


async def test_create_then_get_round_trips(store: JobStore) -> None:
    job = await submit(store)
    got = await store.get(job.id)
    assert got is not None
    assert (got.id, got.owner, got.state, got.input, got.last_sequence) == (
        job.id,
        "alice",
        JobState.QUEUED,
        job.input,
        1,
    )
    assert await store.get("missing") is None


async def test_first_event_carries_the_position(store: JobStore) -> None:
    await submit(store)
    second = await submit(store)
    events = await store.events(second.id, 0)
    assert [(e.sequence, e.kind, e.data["position"]) for e in events] == [(1, EventKind.QUEUED, 2)]


async def test_request_id_is_idempotent_per_owner(store: JobStore) -> None:
    first = await submit(store, request_id="req-1")
    same = core.Submission(JobType.NOOP, core.noop_input(b"x"), request_id="req-1")
    again, created = await create(store, same, "alice", NOW)
    assert not created and again.id == first.id
    with pytest.raises(idempotency.RequestIdReused):  # the key with another body
        await create(store, core.Submission(JobType.NOOP, core.noop_input(b"y"), request_id="req-1"), "alice", NOW)
    other = await submit(store, owner="bob", request_id="req-1")
    assert other.id != first.id


async def test_queue_depth_limit(store: JobStore) -> None:
    await create(store, core.Submission(JobType.NOOP, None), "alice", NOW, max_queue_depth=1)
    with pytest.raises(core.QueueFull) as caught:
        await create(store, core.Submission(JobType.NOOP, None), "alice", NOW, max_queue_depth=1)
    assert caught.value.retry_after > 0
    assert len(await store.list_jobs(owner="alice", states=(), limit=10, before_id=None)) == 1


async def test_claim_order_is_priority_then_fifo_and_positions_follow(store: JobStore) -> None:
    low1 = await submit(store, priority=0)
    low2 = await submit(store, priority=0)
    high = await submit(store, priority=5)
    assert [await store.position(j) for j in (high, low1, low2)] == [1, 2, 3]
    claimed = await store.claim(worker="w", now=NOW, lease_seconds=10, limit=2, start=core.starter("w", NOW, 10))
    assert [j.id for j in claimed] == [high.id, low1.id]
    assert all(j.state is JobState.RUNNING and j.attempt == 1 for j in claimed)
    refreshed = await store.get(low2.id)
    assert refreshed is not None and await store.position(refreshed) == 1
    assert await store.position(claimed[0]) == 0


async def test_position_recomputed_when_a_job_ahead_is_cancelled(store: JobStore) -> None:
    first = await submit(store)
    second = await submit(store)
    assert await store.position(second) == 2
    await store.transition(first.id, None, lambda j: core.cancel(j, "x", NOW, 60), NOW)
    assert await store.position(second) == 1


async def test_transition_with_stale_fence_changes_nothing(store: JobStore) -> None:
    await submit(store)
    (job,) = await store.claim(worker="w", now=NOW, lease_seconds=10, limit=1, start=core.starter("w", NOW, 10))
    await store.transition(job.id, None, lambda j: core.cancel(j, "x", NOW, 60), NOW)
    with pytest.raises(core.StaleAttempt):
        await store.transition(job.id, job.fence, lambda j: core.succeed(j, b"", NOW, 60), NOW)
    after = await store.get(job.id)
    assert after is not None and after.state is JobState.CANCELLED and after.result is None


async def test_failed_change_writes_nothing(store: JobStore) -> None:
    job = await submit(store)

    def broken(j: JobRecord) -> list[NewEvent]:
        j.state = JobState.SUCCEEDED
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await store.transition(job.id, None, broken, NOW)
    after = await store.get(job.id)
    assert after is not None and after.state is JobState.QUEUED and after.last_sequence == 1


async def test_events_are_gap_free_and_resumable(store: JobStore) -> None:
    await submit(store, course=True)
    (job,) = await store.claim(worker="w", now=NOW, lease_seconds=10, limit=1, start=core.starter("w", NOW, 10))
    await store.transition(job.id, job.fence, lambda j: core.start_stage(j, Stage.ENTITY_RECOGNITION, NOW), NOW)
    await store.transition(job.id, job.fence, lambda j: core.succeed(j, b"", NOW + 1, 60), NOW + 1)
    events = await store.events(job.id, 0)
    assert [e.sequence for e in events] == [1, 2, 3, 4]
    assert [e.kind for e in events][-1] is EventKind.SUCCEEDED
    assert [e.sequence for e in await store.events(job.id, 2)] == [3, 4]


async def test_leases_renew_expire_and_requeue(store: JobStore) -> None:
    await submit(store)
    (job,) = await store.claim(worker="w", now=NOW, lease_seconds=10, limit=1, start=core.starter("w", NOW, 10))
    assert await store.expired_leases(NOW + 5) == []
    assert await store.renew_leases({job.id: job.fence}, NOW + 20) == set()
    assert await store.expired_leases(NOW + 15) == []
    assert await store.expired_leases(NOW + 25) == [job.id]
    await store.transition(job.id, None, lambda j: core.requeue(j, "lease expired", 3, NOW + 25, 60), NOW + 25)
    assert await store.renew_leases({job.id: job.fence}, NOW + 40) == {job.id}
    (again,) = await store.claim(
        worker="w2", now=NOW + 26, lease_seconds=10, limit=1, start=core.starter("w2", NOW + 26, 10)
    )
    assert again.id == job.id and again.attempt == 2 and again.fence > job.fence


async def test_list_pages_newest_first_per_owner_and_state(store: JobStore) -> None:
    ids = [(await submit(store)).id for _ in range(5)]
    await submit(store, owner="bob")
    page = await store.list_jobs(owner="alice", states=(), limit=3, before_id=None)
    assert [j.id for j in page] == ids[::-1][:3]
    rest = await store.list_jobs(owner="alice", states=(), limit=3, before_id=page[-1].id)
    assert [j.id for j in rest] == ids[::-1][3:]
    assert len(await store.list_jobs(owner=None, states=(), limit=10, before_id=None)) == 6
    assert await store.list_jobs(owner="alice", states={JobState.RUNNING}, limit=10, before_id=None) == []


async def test_sweep_deletes_only_expired_finished_jobs(store: JobStore) -> None:
    keep = await submit(store)
    await submit(store)
    (job,) = await store.claim(worker="w", now=NOW, lease_seconds=10, limit=1, start=core.starter("w", NOW, 10))
    assert job.id == keep.id
    await store.transition(job.id, job.fence, lambda j: core.succeed(j, b"", NOW, 60), NOW)
    assert await store.sweep(NOW + 30) == 0
    assert await store.sweep(NOW + 61) == 1
    assert await store.get(job.id) is None and await store.events(job.id, 0) == []
    assert len(await store.list_jobs(owner=None, states=(), limit=10, before_id=None)) == 1


async def test_counts_timings_and_workers(store: JobStore) -> None:
    await submit(store, priority=1)
    await submit(store, priority=1)
    await submit(store, priority=0)
    (job,) = await store.claim(worker="w", now=NOW, lease_seconds=10, limit=1, start=core.starter("w", NOW, 10))
    await store.transition(job.id, job.fence, lambda j: core.succeed(j, b"", NOW + 2, 60), NOW + 2)
    await store.heartbeat("w", 4, NOW)
    counts = await store.counts(NOW + 3)
    assert counts.queued_by_priority == {1: 1, 0: 1}
    assert counts.by_state[JobState.SUCCEEDED] == 1 and counts.by_state[JobState.QUEUED] == 2
    assert counts.finished_last_minute == 1 and counts.workers == 4
    timing = (await store.timings())["job:noop"]
    assert timing.samples == 1 and timing.mean == pytest.approx(2.0)
