"""Two scheduler replicas in one process, each with its own ChangeFeed, sharing one Redis store: what one writes,
the other reads, streams and acts on at once. The watch poll, the dispatcher poll and the stage deadline are 30 s
and leases are renewed every 10 s, so only the store's cross-process notices can pass these tests' bounds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import pytest
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common import errors
from services.common.settings import Settings
from services.scheduler import core, watching
from services.scheduler.feed import ChangeFeed
from services.scheduler.model import JobState, JobType
from services.scheduler.policy import Quota
from services.scheduler.server import SchedulerServer, start
from services.scheduler.store.redis import RedisJobStore
from services.scheduler.store.redis_claim import Claimed, claim_args
from tests.scheduler.grpc_helpers import course_request, events_of, noop_request, watch_all
from tests.scheduler.redis_support import delete_prefix, require_redis, unique_prefix
from tests.scheduler.stage_doubles import Behavior, StageDoubles
from tests.scheduler.store_support import create

pytestmark = pytest.mark.redis

SLOW_POLL = 30.0
NOW = 1_000_000.0
PROMPT = 5.0  # well under SLOW_POLL, the stage deadline and the lease renewal period (lease_seconds / 3 = 10 s)

Replica = Callable[..., Awaitable[tuple[SchedulerServer, pb_grpc.JobSchedulerServiceStub]]]


@pytest.fixture
async def replica(stage_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Replica]:
    """Starts replicas on one fresh key prefix; stops them and deletes the prefix afterwards."""
    url, prefix = await require_redis(), unique_prefix()
    monkeypatch.setattr(watching, "WATCH_POLL_SECONDS", SLOW_POLL)
    slow = stage_settings.replace(lease_seconds=30.0, poll_interval_seconds=SLOW_POLL, stage_timeout_seconds=SLOW_POLL)
    servers: list[SchedulerServer] = []
    channels: list[grpc.aio.Channel] = []

    async def open_replica(*, dispatcher: bool) -> tuple[SchedulerServer, pb_grpc.JobSchedulerServiceStub]:
        feed = ChangeFeed()
        store = RedisJobStore(url, feed, prefix=prefix)
        server = await start(slow.replace(run_dispatcher=dispatcher), port=0, store=store, feed=feed)
        servers.append(server)
        channel = grpc.aio.insecure_channel(server.address)
        channels.append(channel)
        return server, pb_grpc.JobSchedulerServiceStub(channel)

    try:
        yield open_replica
    finally:
        for channel in channels:
            await channel.close()
        for server in servers:
            await server.stop(0.5)
        await delete_prefix(url, prefix)


async def test_job_from_a_is_read_watched_and_cancelled_on_b_and_stops_on_a(
    replica: Replica, doubles: tuple[StageDoubles, str]
) -> None:
    d, _ = doubles
    d.behaviors["ExtractSkills"] = Behavior(hang=True)
    a, stub_a = await replica(dispatcher=True)
    _, stub_b = await replica(dispatcher=False)

    job = (await stub_a.SubmitJob(course_request())).job
    read = (await stub_b.GetJob(pb.GetJobRequest(job_id=job.id))).job
    assert read.id == job.id and read.type == job_pb2.JOB_TYPE_COURSE_RECOMMENDATION

    stream = stub_b.WatchJob(pb.WatchJobRequest(job_id=job.id))
    assert (await asyncio.wait_for(stream.read(), PROMPT)).HasField("snapshot")
    seen: list[job_pb2.JobEvent] = []
    while not any(e.stage_started.stage == job_pb2.STAGE_SKILL_EXTRACTION for e in seen):
        update = await asyncio.wait_for(stream.read(), PROMPT)  # A's writes, streamed live by B
        if update.HasField("event"):
            seen.append(update.event)
    await asyncio.wait_for(d.signal("ExtractSkills").wait(), PROMPT)
    assert a.dispatcher is not None and a.dispatcher.running == 1

    cancelled = await stub_b.CancelJob(pb.CancelJobRequest(job_id=job.id, reason="from B"))
    assert cancelled.job.state == job_pb2.JOB_STATE_CANCELLED
    # A learns of it through the store's notices, not at its next lease renewal 10 s away.
    await asyncio.wait_for(d.was_cancelled("ExtractSkills").wait(), PROMPT)

    while (update := await asyncio.wait_for(stream.read(), PROMPT)) is not grpc.aio.EOF:
        if update.HasField("event"):
            seen.append(update.event)
    assert [e.sequence for e in seen] == list(range(1, len(seen) + 1))
    assert seen[-1].cancelled.reason == "from B"
    assert seen[-1].cancelled.stage == job_pb2.STAGE_SKILL_EXTRACTION
    resumed = events_of(await watch_all(stub_b, job.id, after=2))
    assert [e.sequence for e in resumed] == [e.sequence for e in seen[2:]]
    assert d.calls["CompareSkills"] == 0  # no further stage started on A
    assert a.dispatcher.running == 0
    on_a = (await stub_a.GetJob(pb.GetJobRequest(job_id=job.id))).job
    assert on_a.state == job_pb2.JOB_STATE_CANCELLED
    assert on_a.stages[1].state == job_pb2.STAGE_STATE_CANCELLED


async def test_idle_dispatcher_wakes_when_another_replica_enqueues(replica: Replica) -> None:
    b, _ = await replica(dispatcher=True)
    _, stub_a = await replica(dispatcher=False)
    assert b.dispatcher is not None and b.dispatcher.running == 0
    job = (await stub_a.SubmitJob(noop_request(b"hi"))).job
    updates = await asyncio.wait_for(watch_all(stub_a, job.id), PROMPT)  # B's writes, streamed by A
    events = events_of(updates)
    assert [e.WhichOneof("kind") for e in events] == ["queued", "started", "succeeded"]
    assert [e.sequence for e in events] == [1, 2, 3]
    final = (await stub_a.GetJob(pb.GetJobRequest(job_id=job.id))).job
    assert final.state == job_pb2.JOB_STATE_SUCCEEDED and final.noop_result.payload == b"hi"


async def test_queue_position_on_b_follows_a_cancel_on_a(replica: Replica) -> None:
    _, stub_a = await replica(dispatcher=False)
    _, stub_b = await replica(dispatcher=False)
    first = (await stub_a.SubmitJob(noop_request())).job
    second = (await stub_a.SubmitJob(noop_request())).job
    stream = stub_b.WatchJob(pb.WatchJobRequest(job_id=second.id))
    assert (await asyncio.wait_for(stream.read(), PROMPT)).snapshot.position_in_queue == 2
    assert (await asyncio.wait_for(stream.read(), PROMPT)).event.queued.position_in_queue == 2
    await stub_a.CancelJob(pb.CancelJobRequest(job_id=first.id))
    update = await asyncio.wait_for(stream.read(), PROMPT)
    assert update.snapshot.position_in_queue == 1
    stream.cancel()


async def test_a_claim_cut_short_after_the_reservation_is_put_back_by_lease_expiry() -> None:
    """A dispatcher that dies between parking the queue head and starting the attempt leaves the job QUEUED
    but outside the queue; once the parked lease runs out, lease expiry puts it back at its place."""
    url, prefix = await require_redis(), unique_prefix()
    store = RedisJobStore(url, ChangeFeed(), prefix=prefix)
    try:
        job, _ = await create(store, core.Submission(JobType.NOOP, core.noop_input(b"x")), "alice", NOW)
        keys = store.keys
        args = claim_args(keys, limit=1, parked_until=NOW + 10, peek=0, message_head="-", prepared=[])
        parked = await store._claim(keys=[keys.queue, keys.leases, keys.usage, keys.rounds], args=args)
        assert [i.decode() for i in parked[:2]] == [Claimed.RESERVED, job.id]  # ...and the claimer dies here
        assert await store.claim(worker="w", now=NOW, lease_seconds=10, limit=1, start=core.starter("w", NOW, 10)) == []
        assert await store.expired_leases(NOW + 11) == [job.id]
        await store.transition(job.id, None, lambda j: [], NOW + 11)  # what Dispatcher.maintain does
        stored = await store.get(job.id)
        assert stored is not None and stored.state is JobState.QUEUED and await store.position(stored) == 1
        (claimed,) = await store.claim(
            worker="w2", now=NOW + 12, lease_seconds=10, limit=1, start=core.starter("w2", NOW + 12, 10)
        )
        assert claimed.id == job.id and claimed.attempt == 1
        assert [e.sequence for e in await store.events(job.id, 0)] == [1, 2]
    finally:
        await store.close()
        await delete_prefix(url, prefix)


async def test_rate_limit_and_queue_quota_are_shared_by_replicas() -> None:
    """Two stores (two replicas) on one prefix draw from the same token bucket and count the same queue;
    time is injected through the jobs' submit times, so no sleeping."""
    url, prefix = await require_redis(), unique_prefix()
    a, b = RedisJobStore(url, ChangeFeed(), prefix=prefix), RedisJobStore(url, ChangeFeed(), prefix=prefix)
    quota = Quota("standard", 4, 3, 0, 1.0, 2)

    async def submit(store: RedisJobStore, at: float) -> None:
        await create(store, core.Submission(JobType.NOOP, core.noop_input(b"")), "shared", at, quota=quota)

    try:
        await submit(a, NOW)
        await submit(b, NOW)
        with pytest.raises(errors.ResourceExhausted) as caught:
            await submit(a, NOW + 0.5)
        assert caught.value.retry_after == pytest.approx(0.5)
        await submit(b, NOW + 1.0)
        with pytest.raises(errors.ResourceExhausted) as caught:  # now the queued-jobs quota (3) is full
            await submit(a, NOW + 10.0)
        assert "queued jobs" in caught.value.message
        usage = await b.owner_usage("shared")
        assert usage.pending == 3
    finally:
        await a.close()
        await b.close()
        await delete_prefix(url, prefix)


async def test_many_concurrent_submits_of_one_owner_on_two_replicas_all_land() -> None:
    """200 concurrent submits of one owner on each of two stores: inside a process they queue per owner, across
    processes the compare-and-set of the owner's round and bucket retries with backoff; none may fail."""
    url, prefix = await require_redis(), unique_prefix()
    a, b = RedisJobStore(url, ChangeFeed(), prefix=prefix), RedisJobStore(url, ChangeFeed(), prefix=prefix)
    quota = Quota("standard", 4, 0, 0, 1000.0, 1000)  # generous: this is about contention, not limits

    async def submit(store: RedisJobStore) -> str:
        sub = core.Submission(JobType.NOOP, core.noop_input(b""))
        stored, created = await create(store, sub, "busy", NOW, max_queue_depth=1000, quota=quota)
        assert created
        return stored.id

    try:
        ids = await asyncio.gather(*(submit(store) for store in [a, b] * 200))
        assert len(set(ids)) == 400
        jobs = [await a.get(i) for i in ids]
        positions = [await a.position(j) for j in jobs if j]
        assert sorted(positions) == list(range(1, 401))
    finally:
        await a.close()
        await b.close()
        await delete_prefix(url, prefix)
