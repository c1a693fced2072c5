"""Concurrent admission at the edges of the limits, on every store: two replicas (two Redis stores on one
prefix; the one SQLite store, which one process owns, with concurrent callers) racing at a quota edge never
exceed it, for submits and for the release of delayed or waiting jobs alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.common import errors
from services.scheduler import admission, core
from services.scheduler.feed import ChangeFeed
from services.scheduler.model import EventKind, JobState, JobType, Quota
from services.scheduler.store.base import JobStore
from services.scheduler.store.redis import RedisJobStore
from services.scheduler.store.sqlite import SqliteJobStore
from tests.scheduler.redis_support import delete_prefix, require_redis, unique_prefix
from tests.scheduler.store_support import create

NOW = 3_000_000.0
TTL = 60.0


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def replicas(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[JobStore, JobStore]]:
    if request.param == "redis":
        url, prefix = await require_redis(), unique_prefix()
        a, b = RedisJobStore(url, ChangeFeed(), prefix=prefix), RedisJobStore(url, ChangeFeed(), prefix=prefix)
        try:
            # Both connected before the race starts, so neither replica's first read waits on a handshake.
            await asyncio.gather(a.owner_usage("-"), b.owner_usage("-"))
            yield a, b
        finally:
            await a.close()
            await b.close()
            await delete_prefix(url, prefix)
        return
    store = SqliteJobStore(tmp_path / "jobs.db", ChangeFeed())
    yield store, store
    await store.close()


def noop(**kwargs: object) -> core.Submission:
    return core.Submission(JobType.NOOP, core.noop_input(b"x"), **kwargs)  # type: ignore[arg-type]


async def outcomes(*calls: object) -> tuple[int, int]:
    """How many of the concurrent submits landed and how many were refused over a quota or the depth."""
    results = await asyncio.gather(*calls, return_exceptions=True)  # type: ignore[call-overload]
    refused = [r for r in results if isinstance(r, errors.ResourceExhausted)]
    others = [r for r in results if isinstance(r, BaseException) and r not in refused]
    assert not others, others
    return len(results) - len(refused), len(refused)


async def test_racing_submits_never_exceed_max_queued(replicas: tuple[JobStore, JobStore]) -> None:
    a, b = replicas
    quota = Quota("standard", 4, 5, 0, 0.0, 0)
    for _ in range(4):
        await create(a, noop(), "edge", NOW, quota=quota)
    # Delayed jobs do not enter the queue (nor take a fair round): the owner's count of waiting jobs is all
    # that stands between them and the limit.
    landed, refused = await outcomes(*(create(s, noop(delay=100.0), "edge", NOW, quota=quota) for s in [a, b] * 6))
    assert (landed, refused) == (1, 11)
    assert (await a.owner_usage("edge")).pending == 5
    assert (await b.owner_usage("edge")).pending == 5


async def test_racing_submits_never_exceed_the_queue_depth(replicas: tuple[JobStore, JobStore]) -> None:
    a, b = replicas
    landed, refused = await outcomes(
        *(create(s, noop(), f"o{i}", NOW, max_queue_depth=7) for i, s in enumerate([a, b] * 10))
    )
    assert (landed, refused) == (7, 13)
    assert len(await a.list_jobs(owner=None, states={JobState.QUEUED}, limit=100, before_id=None)) == 7


async def test_racing_submits_never_exceed_the_submit_rate(replicas: tuple[JobStore, JobStore]) -> None:
    a, b = replicas
    quota = Quota("standard", 4, 0, 0, 1.0, 3)  # a burst of 3, then one a second
    landed, refused = await outcomes(*(create(s, noop(delay=100.0), "fast", NOW, quota=quota) for s in [a, b] * 5))
    assert (landed, refused) == (3, 7)


async def test_racing_releases_release_each_job_once_and_stay_under_the_quota(
    replicas: tuple[JobStore, JobStore],
) -> None:
    """Delayed jobs fall due while both replicas release and the owner keeps submitting at its quota edge:
    every job is released exactly once, with its own place in the queue, and the owner never has more
    waiting jobs than max_queued."""
    a, b = replicas
    quota = Quota("standard", 4, 6, 0, 0.0, 0)
    delayed = [(await create(a, noop(delay=5.0), "late", NOW, quota=quota))[0] for _ in range(5)]
    assert {j.state for j in delayed} == {JobState.SCHEDULED}
    later = NOW + 10
    released = await asyncio.gather(
        a.release(later, admission.releaser(later, TTL)),
        b.release(later, admission.releaser(later, TTL)),
        *(create(s, noop(), "late", later, quota=quota) for s in [a, b] * 3),
        return_exceptions=True,
    )
    counts, submits = released[:2], released[2:]
    assert sum(c for c in counts if isinstance(c, int)) == 5, counts
    assert sum(1 for r in submits if not isinstance(r, BaseException)) == 1
    assert all(isinstance(r, errors.ResourceExhausted) for r in submits if isinstance(r, BaseException))
    for job in delayed:
        kinds = [e.kind for e in await a.events(job.id, 0)]
        assert kinds == [EventKind.SCHEDULED, EventKind.RELEASED], kinds
    queued = await a.list_jobs(owner="late", states={JobState.QUEUED}, limit=100, before_id=None)
    assert len(queued) == 6 and (await a.owner_usage("late")).pending == 6
    assert sorted([await a.position(j) for j in queued]) == list(range(1, 7))


async def test_racing_claims_never_exceed_max_running(replicas: tuple[JobStore, JobStore]) -> None:
    a, b = replicas
    capped = Quota("standard", 4, 0, 2, 0.0, 0)
    for _ in range(6):
        await create(a, noop(), "capped", NOW, quota=capped)
    claims = await asyncio.gather(
        *(
            s.claim(worker=f"w{i}", now=NOW, lease_seconds=30, limit=2, start=core.starter(f"w{i}", NOW, 30))
            for i, s in enumerate([a, b] * 3)
        )
    )
    assert sum(len(c) for c in claims) == 2
    assert (await a.owner_usage("capped")).running == 2


async def test_a_new_jobs_first_position_is_its_place_after_claims_and_cancels(
    replicas: tuple[JobStore, JobStore],
) -> None:
    """The position in a job's queued event (counted as it is written) equals its place counted afterwards,
    however the queue moved before it: other owners, priorities, claims, cancels, delayed jobs released."""
    a, _ = replicas
    owners = ["x", "y", "z"]
    made = [(await create(a, noop(priority=i % 3), owners[i % 3], NOW))[0] for i in range(12)]
    await a.claim(worker="w", now=NOW, lease_seconds=30, limit=4, start=core.starter("w", NOW, 30))
    for job in made[5:8]:
        await a.transition(job.id, None, lambda j: core.cancel(j, "x", NOW, TTL), NOW)
    await create(a, noop(delay=1.0), "x", NOW)
    await a.release(NOW + 2, admission.releaser(NOW + 2, TTL))
    for i in range(6):
        job, _ = await create(a, noop(priority=(i * 2) % 3), owners[(i + 1) % 3], NOW + 3)
        (queued,) = await a.events(job.id, 0)
        assert queued.data["position"] == await a.position(job), i
