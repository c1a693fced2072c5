"""The JobStore contract for the scheduling policies: fairness, per-owner limits, delays, dependencies.
Run against every store, like test_store_contract."""

from __future__ import annotations

import pytest

from services.common import errors
from services.scheduler import admission, core
from services.scheduler.model import EventKind, JobRecord, JobState, JobType, NewEvent
from services.scheduler.policy import Quota
from services.scheduler.store.base import JobStore
from tests.scheduler.store_support import create
from tests.scheduler.test_store_contract import store  # noqa: F401 - the parametrized store fixture

NOW = 2_000_000.0
TTL = 60.0


def queued(position: int) -> NewEvent:
    return NewEvent(EventKind.QUEUED, {"position": position, "estimated_wait": 0.0})


async def submit(
    store: JobStore,  # noqa: F811
    owner: str = "alice",
    *,
    at: float = NOW,
    quota: Quota | None = None,
    max_running: int = 0,
    not_before: float | None = None,
    depends_on: tuple[str, ...] = (),
) -> JobRecord:
    sub = core.Submission(JobType.NOOP, core.noop_input(b"x"), not_before=not_before, depends_on=depends_on)
    if max_running:
        quota = Quota("standard", 9, 0, max_running, 0.0, 0)
    stored, created = await create(store, sub, owner, at, max_queue_depth=10_000, quota=quota)
    assert created
    return stored


async def claim_one(store: JobStore, at: float = NOW) -> JobRecord | None:  # noqa: F811
    claimed = await store.claim(worker="w", now=at, lease_seconds=30, limit=1, start=core.starter("w", at, 30))
    return claimed[0] if claimed else None


async def test_one_owner_cannot_starve_another(store: JobStore) -> None:  # noqa: F811
    for _ in range(100):
        await submit(store, "a")
    b_jobs = [await submit(store, "b") for _ in range(5)]
    assert await store.position(b_jobs[0]) == 2
    order = []
    for _ in range(12):
        job = await claim_one(store)
        assert job is not None
        order.append(job.owner)
    assert "b" in order[:2], order
    assert order[:10].count("b") == 5, order


async def test_positions_follow_the_fair_order(store: JobStore) -> None:  # noqa: F811
    for owner in ["a", "a", "a", "b", "c", "b", "a"]:
        await submit(store, owner)
    jobs = await store.list_jobs(owner=None, states={JobState.QUEUED}, limit=100, before_id=None)
    positions = {j.id: await store.position(j) for j in jobs}
    by_position = sorted(jobs, key=lambda j: positions[j.id])
    assert sorted(positions.values()) == list(range(1, len(jobs) + 1))
    claimed = [await claim_one(store) for _ in jobs]
    assert [j.id for j in claimed if j] == [j.id for j in by_position]


async def test_owner_at_max_running_is_passed_over(store: JobStore) -> None:  # noqa: F811
    await submit(store, "a", max_running=1)
    await submit(store, "a", max_running=1)
    other = await submit(store, "b")
    claimed = await store.claim(worker="w", now=NOW, lease_seconds=30, limit=3, start=core.starter("w", NOW, 30))
    assert sorted(j.owner for j in claimed) == ["a", "b"]
    assert other.id in {j.id for j in claimed}


async def test_max_queued_per_owner(store: JobStore) -> None:  # noqa: F811
    limited = Quota("standard", 4, 2, 0, 0.0, 0)
    await submit(store, "a", quota=limited)
    await submit(store, "a", quota=limited)
    with pytest.raises(errors.ResourceExhausted) as caught:
        await submit(store, "a", quota=limited)
    assert caught.value.violations and caught.value.retry_after > 0
    await submit(store, "b", quota=limited)  # another owner is unaffected
    assert len(await store.list_jobs(owner="a", states=(), limit=10, before_id=None)) == 2


async def test_submit_rate_token_bucket(store: JobStore) -> None:  # noqa: F811
    limited = Quota("standard", 4, 0, 0, 1.0, 2)
    await submit(store, "a", quota=limited, at=NOW)
    await submit(store, "a", quota=limited, at=NOW)
    with pytest.raises(errors.ResourceExhausted) as caught:
        await submit(store, "a", quota=limited, at=NOW + 0.25)
    assert caught.value.retry_after == pytest.approx(0.75)
    await submit(store, "a", quota=limited, at=NOW + 1.0)


async def test_delayed_job_is_scheduled_until_its_time(store: JobStore) -> None:  # noqa: F811
    job = await submit(store, not_before=NOW + 10)
    assert job.state is JobState.SCHEDULED
    assert await store.position(job) == 0
    assert await claim_one(store) is None
    assert await store.release(NOW + 5, admission.releaser(NOW + 5, TTL)) == 0
    assert await store.release(NOW + 10, admission.releaser(NOW + 10, TTL)) == 1
    released = await store.get(job.id)
    assert released is not None and released.state is JobState.QUEUED
    kinds = [e.kind for e in await store.events(job.id, 0)]
    assert kinds == [EventKind.SCHEDULED, EventKind.RELEASED]
    claimed = await claim_one(store, NOW + 11)
    assert claimed is not None and claimed.id == job.id


async def test_dependency_chain_runs_in_order_and_failure_cancels_the_rest(store: JobStore) -> None:  # noqa: F811
    a = await submit(store)
    b = await submit(store, depends_on=(a.id,))
    c = await submit(store, depends_on=(b.id,))
    assert (b.state, c.state) == (JobState.WAITING, JobState.WAITING)
    first = await claim_one(store)
    assert first is not None and first.id == a.id and await claim_one(store) is None
    await store.transition(a.id, first.fence, lambda j: core.succeed(j, b"", NOW, TTL), NOW)
    assert await store.release(NOW, admission.releaser(NOW, TTL)) == 1
    second = await claim_one(store)
    assert second is not None and second.id == b.id
    error = core.JobError(code=13, message="boom")
    await store.transition(b.id, second.fence, lambda j: core.fail(j, error, NOW, TTL), NOW)
    assert await store.release(NOW, admission.releaser(NOW, TTL)) == 1
    cancelled = await store.get(c.id)
    assert cancelled is not None and cancelled.state is JobState.CANCELLED
    last = (await store.events(c.id, 0))[-1]
    assert last.kind is EventKind.CANCELLED and b.id in last.data["reason"] and "FAILED" in last.data["reason"]


async def test_unknown_foreign_or_failed_dependencies_are_refused(store: JobStore) -> None:  # noqa: F811
    theirs = await submit(store, "bob")
    with pytest.raises(errors.InvalidArgument) as caught:
        await submit(store, "alice", depends_on=("no-such-job", theirs.id))
    assert [v.field for v in caught.value.violations] == ["depends_on[0]", "depends_on[1]"]
    mine = await submit(store, "alice")
    await store.transition(mine.id, None, lambda j: core.cancel(j, "x", NOW, TTL), NOW)
    with pytest.raises(errors.FailedPrecondition):
        await submit(store, "alice", depends_on=(mine.id,))
    assert len(await store.list_jobs(owner="alice", states=(), limit=10, before_id=None)) == 1


async def test_owner_usage_counts_waiting_and_running(store: JobStore) -> None:  # noqa: F811
    a = await submit(store, "a")
    await submit(store, "a", not_before=NOW + 100)
    await submit(store, "a", depends_on=(a.id,))
    await claim_one(store)
    usage = await store.owner_usage("a")
    assert (usage.pending, usage.running) == (2, 1)
