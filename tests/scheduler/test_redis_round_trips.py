"""Round trips to Redis on the hot paths, counted (not timed): a submit reads its snapshot and writes once; a state
change of a job this process runs writes once, any other reads the record first. Each request or pipeline the
client sends is one round trip."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio.connection as connection

from services.scheduler import core
from services.scheduler.feed import ChangeFeed
from services.scheduler.model import EventKind, JobState, JobType, NoopInput
from services.scheduler.store.base import Change
from services.scheduler.store.redis import RedisJobStore
from tests.scheduler.redis_support import delete_prefix, require_redis, unique_prefix
from tests.scheduler.store_support import create

pytestmark = pytest.mark.redis
NOW = 4_000_000.0
NOOP = core.Submission(JobType.NOOP, NoopInput(b"x" * 1024))


@pytest.fixture
async def store() -> AsyncIterator[RedisJobStore]:
    url, prefix = await require_redis(), unique_prefix()
    opened = RedisJobStore(url, ChangeFeed(), prefix=prefix)
    try:
        yield opened
    finally:
        await opened.close()
        await delete_prefix(url, prefix)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many requests the Redis client has sent so far (one element, reset at will)."""
    count = [0]
    send = connection.AbstractConnection.send_packed_command

    async def counted(self: connection.AbstractConnection, command: object, check_health: bool = True) -> None:
        count[0] += 1
        await send(self, command, check_health)  # type: ignore[arg-type]

    monkeypatch.setattr(connection.AbstractConnection, "send_packed_command", counted)
    yield count


async def test_a_submit_is_one_read_and_one_write(store: RedisJobStore, sent: list[int]) -> None:
    await create(store, NOOP, "ann", NOW)  # the scripts are loaded on first use
    for i in range(1, 4):
        sent[0] = 0
        job, created = await create(store, NOOP, "ann", NOW + i)
        assert created and job.state is JobState.QUEUED
        assert sent[0] == 2, f"submit {i} took {sent[0]} round trips"
    assert await store.position(job) == 4  # placed behind the earlier ones, as counted with the snapshot


async def test_a_state_change_of_a_job_this_process_runs_is_one_write(store: RedisJobStore, sent: list[int]) -> None:
    job, _ = await create(store, NOOP, "ann", NOW)
    (claimed,) = await store.claim(worker="w", now=NOW, lease_seconds=10, limit=1, start=core.starter("w", NOW, 10))
    sent[0] = 0
    await store.transition(job.id, claimed.fence, lambda j: core.succeed(j, b"done", NOW + 1, 60.0), NOW + 1)
    assert sent[0] == 1  # compared with the record as this process wrote it: no read first
    done = await store.get(job.id)
    assert done is not None and done.state is JobState.SUCCEEDED and done.result == b"done"


async def test_state_changes_made_in_one_loop_turn_share_one_write(store: RedisJobStore, sent: list[int]) -> None:
    """Jobs that finish together (a dispatcher's slots ending in the same turn) send their writes as one pipeline;
    each gets its own outcome: the one cancelled elsewhere meanwhile is refused, the others are written."""
    jobs = [(await create(store, NOOP, "ann", NOW + i))[0] for i in range(5)]
    claimed = await store.claim(worker="w", now=NOW, lease_seconds=10, limit=5, start=core.starter("w", NOW, 10))
    other = RedisJobStore(await require_redis(), ChangeFeed(), prefix=store.prefix)
    try:
        await other.transition(jobs[2].id, None, lambda j: core.cancel(j, "elsewhere", NOW + 1, 60.0), NOW + 1)
    finally:
        await other.close()
    sent[0] = 0
    outcomes = await asyncio.gather(
        *(
            store.transition(job.id, job.fence, lambda j: core.succeed(j, b"done", NOW + 2, 60.0), NOW + 2)
            for job in claimed
        ),
        return_exceptions=True,
    )
    # one pipeline for all five, then the refused one reads the record and finds its attempt superseded
    assert sent[0] == 2
    assert [type(o) for o in outcomes].count(core.StaleAttempt) == 1 and isinstance(outcomes[2], core.StaleAttempt)
    states = [(await store.get(job.id)) for job in jobs]
    assert [s.state if s else None for s in states] == [JobState.SUCCEEDED] * 2 + [JobState.CANCELLED] + [
        JobState.SUCCEEDED
    ] * 2


async def test_any_other_state_change_is_one_read_and_one_write(store: RedisJobStore, sent: list[int]) -> None:
    job, _ = await create(store, NOOP, "ann", NOW)
    sent[0] = 0
    await store.transition(job.id, None, lambda j: core.cancel(j, "no", NOW + 1, 60.0), NOW + 1)
    assert sent[0] == 2


async def test_a_change_made_elsewhere_is_read_not_overwritten(store: RedisJobStore) -> None:
    job, _ = await create(store, NOOP, "ann", NOW)
    (claimed,) = await store.claim(worker="w", now=NOW, lease_seconds=10, limit=1, start=core.starter("w", NOW, 10))
    other = RedisJobStore(await require_redis(), ChangeFeed(), prefix=store.prefix)
    try:  # another replica cancels it: the fence moves on
        await other.transition(job.id, None, lambda j: core.cancel(j, "elsewhere", NOW + 1, 60.0), NOW + 1)
    finally:
        await other.close()
    with pytest.raises(core.StaleAttempt):
        await store.transition(job.id, claimed.fence, lambda j: core.succeed(j, b"late", NOW + 2, 60.0), NOW + 2)
    cancelled = await store.get(job.id)
    assert cancelled is not None and cancelled.state is JobState.CANCELLED and cancelled.result is None


def starter_at(when: float) -> Change:
    return core.starter("w", when, 10)


async def test_a_claim_of_a_job_this_process_queued_is_one_round_trip(store: RedisJobStore, sent: list[int]) -> None:
    await create(store, NOOP, "ann", NOW)
    await store.claim(worker="w", now=NOW, lease_seconds=10, limit=1, start=starter_at(NOW))  # loads the script
    job, _ = await create(store, NOOP, "ann", NOW + 1)
    sent[0] = 0
    (claimed,) = await store.claim(worker="w", now=NOW + 2, lease_seconds=10, limit=1, start=starter_at(NOW + 2))
    assert sent[0] == 1  # claimed and started by one script
    assert claimed.id == job.id and claimed.state is JobState.RUNNING and claimed.input == NOOP.input
    stored = await store.get(job.id)
    assert stored is not None and stored.state is JobState.RUNNING and stored.fence == claimed.fence
    assert stored.lease_owner == "w" and stored.lease_until == NOW + 12
    assert [e.kind for e in await store.events(job.id, 0)][-1] is EventKind.STARTED
    assert (await store.owner_usage("ann")).running == 2
    sent[0] = 0
    await store.transition(job.id, claimed.fence, lambda j: core.succeed(j, b"done", NOW + 3, 60.0), NOW + 3)
    assert sent[0] == 1  # the started record is held as written by the script


async def test_jobs_queued_elsewhere_are_reserved_then_the_next_in_line_start_in_one(
    store: RedisJobStore, sent: list[int]
) -> None:
    other = RedisJobStore(await require_redis(), ChangeFeed(), prefix=store.prefix)
    try:
        jobs = [(await create(other, NOOP, "ann", NOW + i))[0] for i in range(3)]
    finally:
        await other.close()
    sent[0] = 0
    (first,) = await store.claim(worker="w", now=NOW, lease_seconds=10, limit=1, start=starter_at(NOW))
    assert first.id == jobs[0].id and sent[0] >= 2  # the script reserves it; a guarded write starts it
    sent[0] = 0
    claimed = await store.claim(worker="w", now=NOW + 1, lease_seconds=10, limit=2, start=starter_at(NOW + 1))
    assert [j.id for j in claimed] == [j.id for j in jobs[1:]]  # in order, from the records peeked at before
    assert sent[0] == 1
    for job in claimed:
        stored = await store.get(job.id)
        assert stored is not None and stored.state is JobState.RUNNING and stored.fence == job.fence


async def test_a_prepared_start_of_a_job_changed_elsewhere_is_not_written(store: RedisJobStore) -> None:
    cancelled, _ = await create(store, NOOP, "ann", NOW)
    bumped, _ = await create(store, NOOP, "ann", NOW + 1)
    other = RedisJobStore(await require_redis(), ChangeFeed(), prefix=store.prefix)
    try:  # another replica cancels one and claims-then-requeues the other: both records move on
        await other.transition(cancelled.id, None, lambda j: core.cancel(j, "no", NOW + 2, 60.0), NOW + 2)
        (taken,) = await other.claim(
            worker="o", now=NOW + 2, lease_seconds=10, limit=1, start=core.starter("o", NOW + 2, 10)
        )
        await other.transition(taken.id, taken.fence, lambda j: core.requeue(j, "again", 3, NOW + 3, 60.0), NOW + 3)
    finally:
        await other.close()
    (claimed,) = await store.claim(worker="w", now=NOW + 4, lease_seconds=10, limit=2, start=starter_at(NOW + 4))
    assert claimed.id == bumped.id and claimed.attempt == 2  # started from its record as it is now
    stored = await store.get(cancelled.id)
    assert stored is not None and stored.state is JobState.CANCELLED
    assert [e.sequence for e in await store.events(bumped.id, 0)] == list(range(1, claimed.last_sequence + 1))
