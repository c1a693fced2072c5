"""Stage-service outages over real gRPC: the similarity service's double runs on a server of its own (with the
health service, as the real one registers it) that each test stops and starts again on the same port, while a
real scheduler (SQLite store, dispatcher, stage clients, health watcher) runs jobs through it.

Checked: a job waits for a restarting service and succeeds in its first attempt; the job and GetQueueStatus say
what it waits for; a spent outage budget puts the job back in the queue, and no job is started while the
breaker is open (seen on events and on the dispatcher's paused-claims counter); after the last attempt the job
fails naming the stage and the cause; cancel and shutdown end a wait at once; health NOT_SERVING stops claims.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.settings import Settings
from services.scheduler.server import SchedulerServer, start
from services.scheduler.stage_clients import HEALTH_NAMES
from tests.scheduler.grpc_helpers import course_request, events_of, watch_all
from tests.scheduler.stage_doubles import Behavior, ServiceDouble, StageDoubles, start_stage_doubles
from tests.support import assert_eventually

Stub = pb_grpc.JobSchedulerServiceStub
UNAVAILABLE = pb.STAGE_SERVICE_STATE_UNAVAILABLE
SERVING = pb.STAGE_SERVICE_STATE_SERVING


@dataclass
class Outage:
    """The scheduler under test, its stub, the doubles and the similarity service that goes down."""

    scheduler: SchedulerServer
    stub: Stub
    doubles: StageDoubles
    similarity: ServiceDouble
    gate: asyncio.Event  # holds every job in SKILL_EXTRACTION (just before similarity) until set
    settings: Settings
    channel: grpc.aio.Channel


@pytest.fixture
async def others() -> AsyncIterator[tuple[StageDoubles, str]]:
    d = StageDoubles()
    server, address = await start_stage_doubles(d)
    yield d, address
    await server.stop(0)


async def outage_stack(settings: Settings, others: tuple[StageDoubles, str], **changes: object) -> Outage:
    doubles, address = others
    similarity = ServiceDouble(doubles, "similarity")
    await similarity.start()
    quick = settings.replace(
        ner_address=address,
        similarity_address=similarity.address,
        retrieval_address=address,
        recommendation_address=address,
        stage_retry_initial_seconds=0.05,
        stage_retry_max_seconds=0.2,
        **changes,
    )
    gate = asyncio.Event()
    doubles.behaviors["ExtractSkills"] = Behavior(gate=gate)
    scheduler = await start(quick, port=0)
    channel = grpc.aio.insecure_channel(scheduler.address)
    return Outage(scheduler, pb_grpc.JobSchedulerServiceStub(channel), doubles, similarity, gate, quick, channel)


@pytest.fixture
async def outage(settings: Settings, others: tuple[StageDoubles, str]) -> AsyncIterator[Outage]:
    o = await outage_stack(settings, others)
    yield o
    await close(o)


async def close(o: Outage) -> None:
    o.gate.set()
    await o.channel.close()
    await o.scheduler.stop(0.5)  # a second stop of a stopped scheduler does nothing more
    await o.similarity.stop()


async def job_of(stub: Stub, job_id: str) -> job_pb2.Job:
    return (await stub.GetJob(pb.GetJobRequest(job_id=job_id))).job


async def service_state(stub: Stub, service: str) -> pb.StageServiceStatus:
    status = await stub.GetQueueStatus(pb.GetQueueStatusRequest())
    return next(s for s in status.stage_services if s.service == service)


async def kinds(stub: Stub, job_id: str) -> list[str]:
    """The kinds of the job's events so far (a watch that ends with the stream, for a finished job)."""
    job = await job_of(stub, job_id)
    updates = []
    async for update in stub.WatchJob(pb.WatchJobRequest(job_id=job_id)):
        updates.append(update)
        if update.HasField("event") and update.event.sequence >= job.last_sequence:
            break
    return [e.WhichOneof("kind") or "" for e in events_of(updates)]


async def take_down_during_a_job(o: Outage) -> str:
    """Submits a job, stops the similarity service while the job is in the stage before it, lets it go on, and
    returns its id once it waits for the service."""
    job_id = (await o.stub.SubmitJob(course_request(skip_cache=True))).job.id
    await asyncio.wait_for(o.doubles.signal("ExtractSkills").wait(), 10)
    await o.similarity.stop()
    o.gate.set()
    await assert_eventually(
        lambda: waiting_for(o.stub, job_id, "similarity"), within=10, message="the job did not wait for the service"
    )
    return job_id


async def waiting_since(stub: Stub, job_id: str) -> float:
    """When the job's service_waiting event was written (seconds since the epoch)."""
    job = await job_of(stub, job_id)
    async for update in stub.WatchJob(pb.WatchJobRequest(job_id=job_id)):
        if update.HasField("event") and update.event.HasField("service_waiting"):
            return float(update.event.time.ToNanoseconds() / 1e9)
        if update.HasField("event") and update.event.sequence >= job.last_sequence:
            break
    raise AssertionError(f"job {job_id} has no service_waiting event")


async def waiting_for(stub: Stub, job_id: str, service: str) -> bool:
    return (await job_of(stub, job_id)).waiting_for_service == service


async def ended(stub: Stub, job_id: str) -> job_pb2.Job | None:
    job = await job_of(stub, job_id)
    terminal = (job_pb2.JOB_STATE_SUCCEEDED, job_pb2.JOB_STATE_FAILED, job_pb2.JOB_STATE_CANCELLED)
    return job if job.state in terminal else None


def paused_claims(o: Outage, service: str) -> float:
    value = o.scheduler.metrics.registry.get_sample_value("skillbridge_claims_paused_total", {"service": service})
    return value or 0.0


def test_the_health_names_are_the_ones_the_stage_servers_register() -> None:
    from services.ner.server import SERVICE_NAME as NER
    from services.recommendation.server import SERVICE_NAME as RECOMMENDATION
    from services.retrieval.server import SERVICE_NAME as RETRIEVAL
    from services.similarity.server import SERVICE_NAME as SIMILARITY

    assert HEALTH_NAMES == {
        "ner": NER,
        "similarity": SIMILARITY,
        "retrieval": RETRIEVAL,
        "recommendation": RECOMMENDATION,
    }


async def test_a_job_waits_for_a_restarting_service_and_succeeds_in_its_first_attempt(outage: Outage) -> None:
    o = outage
    await assert_eventually(lambda: _state_is(o.stub, "similarity", SERVING), within=10)
    job_id = await take_down_during_a_job(o)

    down = await assert_eventually(lambda: _state_is(o.stub, "similarity", UNAVAILABLE), within=10)
    assert down.waiting_jobs == 1 and down.reason
    assert list(down.stages) == [job_pb2.STAGE_SIMILARITY_ANALYSIS]
    # The service stays down for two lease periods: the waiting job must keep its lease (or it would be
    # re-queued as if its worker had died).
    lease = o.settings.lease_seconds
    since = await waiting_since(o.stub, job_id)
    await assert_eventually(lambda: time.time() - since > 2 * lease, within=10 * lease)
    assert (await job_of(o.stub, job_id)).state == job_pb2.JOB_STATE_RUNNING

    await o.similarity.start()  # the restart, on the same port
    job = await assert_eventually(lambda: ended(o.stub, job_id), within=20)
    assert job.state == job_pb2.JOB_STATE_SUCCEEDED and job.attempt == 1 and job.waiting_for_service == ""

    events = events_of(await watch_all(o.stub, job_id))
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    waited = [e for e in events if e.HasField("service_waiting")]
    recovered = [e for e in events if e.HasField("service_recovered")]
    assert len(waited) == 1 and len(recovered) == 1 and waited[0].sequence < recovered[0].sequence
    assert waited[0].service_waiting.service == "similarity"
    assert waited[0].service_waiting.stage == job_pb2.STAGE_SIMILARITY_ANALYSIS
    assert "UNAVAILABLE" in waited[0].service_waiting.reason
    assert waited[0].service_waiting.budget.ToTimedelta().total_seconds() == 120
    assert recovered[0].service_recovered.waited.ToTimedelta().total_seconds() > 2 * lease
    assert not any(e.HasField("retried") for e in events)
    serving = await assert_eventually(lambda: _state_is(o.stub, "similarity", SERVING), within=10)
    assert serving.waiting_jobs == 0


async def test_a_spent_budget_requeues_and_nothing_starts_until_the_service_is_back(
    settings: Settings, others: tuple[StageDoubles, str]
) -> None:
    o = await outage_stack(settings, others, stage_outage_budget_seconds=0.3)
    try:
        first = await take_down_during_a_job(o)
        queued = lambda: _state(o.stub, first, job_pb2.JOB_STATE_QUEUED)  # noqa: E731
        await assert_eventually(queued, within=10, message="the job did not go back to the queue")
        later = (await o.stub.SubmitJob(course_request(skip_cache=True))).job.id
        # The claim loop turns over, and starts nothing, while the service is down.
        paused = paused_claims(o, "similarity")
        await assert_eventually(lambda: paused_claims(o, "similarity") >= paused + 3, within=10)
        assert (await job_of(o.stub, first)).state == job_pb2.JOB_STATE_QUEUED
        assert (await job_of(o.stub, later)).state == job_pb2.JOB_STATE_QUEUED
        assert (await kinds(o.stub, later)) == ["queued"]

        await o.similarity.start()
        for job_id in (first, later):
            job = await assert_eventually(lambda j=job_id: ended(o.stub, j), within=20)
            assert job.state == job_pb2.JOB_STATE_SUCCEEDED
        events = events_of(await watch_all(o.stub, first))
        assert [e.sequence for e in events] == list(range(1, len(events) + 1))
        retried = [e.retried for e in events if e.HasField("retried")]
        assert len(retried) == 1 and retried[0].attempt == 1
        assert "similarity service" in retried[0].reason and "SIMILARITY_ANALYSIS" in retried[0].reason
        assert [e.started.attempt for e in events if e.HasField("started")] == [1, 2]
        # Started once the service was back, the second attempt never waited.
        assert sum(1 for e in events if e.HasField("service_waiting")) == 1
        later_events = events_of(await watch_all(o.stub, later))
        assert sum(1 for e in later_events if e.HasField("started")) == 1
        assert not any(e.HasField("service_waiting") for e in later_events)
    finally:
        await close(o)


async def test_the_last_attempt_fails_naming_the_stage_and_the_cause(
    settings: Settings, others: tuple[StageDoubles, str]
) -> None:
    o = await outage_stack(settings, others, stage_outage_budget_seconds=0.2, max_attempts=1)
    try:
        job_id = await take_down_during_a_job(o)
        job = await assert_eventually(lambda: ended(o.stub, job_id), within=10)
        assert job.state == job_pb2.JOB_STATE_FAILED
        assert job.error.code == grpc.StatusCode.UNAVAILABLE.value[0]
        assert "SIMILARITY_ANALYSIS" in job.error.message and "similarity service" in job.error.message
        assert "UNAVAILABLE" in job.error.message
        assert job.stages[2].state == job_pb2.STAGE_STATE_FAILED
        events = events_of(await watch_all(o.stub, job_id))
        assert events[-1].failed.stage == job_pb2.STAGE_SIMILARITY_ANALYSIS
    finally:
        await close(o)


@pytest.mark.parametrize("code", [grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION])
async def test_errors_that_are_not_outages_fail_at_once(outage: Outage, code: grpc.StatusCode) -> None:
    o = outage
    o.gate.set()
    o.doubles.behaviors["CompareSkills"] = Behavior(fail_code=code, fail_times=-1)
    job_id = (await o.stub.SubmitJob(course_request(skip_cache=True))).job.id
    job = await assert_eventually(lambda: ended(o.stub, job_id), within=10)
    assert job.state == job_pb2.JOB_STATE_FAILED and code.name in job.error.message
    assert o.doubles.calls["CompareSkills"] == 1
    assert "service_waiting" not in await kinds(o.stub, job_id)


async def test_cancel_ends_a_wait_at_once(outage: Outage) -> None:
    o = outage
    job_id = await take_down_during_a_job(o)
    cancelled = (await o.stub.CancelJob(pb.CancelJobRequest(job_id=job_id, reason="no time"))).job
    assert cancelled.state == job_pb2.JOB_STATE_CANCELLED and cancelled.waiting_for_service == ""
    events = events_of(await watch_all(o.stub, job_id))
    assert events[-1].HasField("cancelled") and events[-1].cancelled.stage == job_pb2.STAGE_SIMILARITY_ANALYSIS
    # The attempt stopped: its slot is free and the service's waiting count is back to zero.
    await assert_eventually(lambda: o.scheduler.dispatcher is not None and o.scheduler.dispatcher.running == 0)
    assert (await service_state(o.stub, "similarity")).waiting_jobs == 0


async def test_shutdown_hands_a_waiting_job_back_at_once_and_ends_watches_with_unavailable(
    settings: Settings, others: tuple[StageDoubles, str]
) -> None:
    o = await outage_stack(settings, others)
    try:
        job_id = await take_down_during_a_job(o)
        watch = o.stub.WatchJob(pb.WatchJobRequest(job_id=job_id))
        await watch.read()  # the snapshot: the stream is open
        # A grace period far longer than this test's timeout: only a waiting job handed back at once ends in time.
        await o.scheduler.stop(300.0)
        with pytest.raises(grpc.aio.AioRpcError) as ended_with:
            while True:
                if await watch.read() is grpc.aio.EOF:
                    break
        assert ended_with.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "shutting down" in (ended_with.value.details() or "")
    finally:
        await close(o)
    # The store as the next process finds it: the job is back in the queue for another worker.
    reader = await start(o.settings.replace(run_dispatcher=False), port=0)
    try:
        async with grpc.aio.insecure_channel(reader.address) as channel:
            stub = pb_grpc.JobSchedulerServiceStub(channel)
            job = await job_of(stub, job_id)
            assert job.state == job_pb2.JOB_STATE_QUEUED and job.waiting_for_service == ""
            names = await kinds(stub, job_id)
            assert names[-2:] == ["stage_finished", "retried"] and "service_waiting" in names
    finally:
        await reader.stop(0.5)


async def test_a_job_that_starts_waiting_during_the_drain_is_handed_back_at_once(
    settings: Settings, others: tuple[StageDoubles, str]
) -> None:
    o = await outage_stack(settings, others)
    try:
        job_id = (await o.stub.SubmitJob(course_request(skip_cache=True))).job.id
        await asyncio.wait_for(o.doubles.signal("ExtractSkills").wait(), 10)
        await o.similarity.stop()
        # The drain begins while the job is still in the stage before similarity, with a grace far longer than
        # this test's timeout; the job reaches similarity only then.
        stopping = asyncio.create_task(o.scheduler.stop(300.0))
        await assert_eventually(lambda: o.scheduler.dispatcher is not None and o.scheduler.dispatcher.stopping)
        o.gate.set()
        await asyncio.wait_for(stopping, 60)
    finally:
        await close(o)
    reader = await start(o.settings.replace(run_dispatcher=False), port=0)
    try:
        async with grpc.aio.insecure_channel(reader.address) as channel:
            stub = pb_grpc.JobSchedulerServiceStub(channel)
            assert (await job_of(stub, job_id)).state == job_pb2.JOB_STATE_QUEUED
            names = await kinds(stub, job_id)
            assert names[-3:] == ["service_waiting", "stage_finished", "retried"]
    finally:
        await reader.stop(0.5)


async def test_health_not_serving_stops_claims_and_serving_lets_one_probe_through(outage: Outage) -> None:
    o = outage
    o.gate.set()
    await assert_eventually(lambda: _state_is(o.stub, "similarity", SERVING), within=10)
    await o.similarity.set_serving(False)
    down = await assert_eventually(lambda: _state_is(o.stub, "similarity", UNAVAILABLE), within=10)
    assert "NOT_SERVING" in down.reason
    job_id = (await o.stub.SubmitJob(course_request(skip_cache=True))).job.id
    paused = paused_claims(o, "similarity")
    await assert_eventually(lambda: paused_claims(o, "similarity") >= paused + 3, within=10)
    assert (await kinds(o.stub, job_id)) == ["queued"]
    await o.similarity.set_serving(True)
    job = await assert_eventually(lambda: ended(o.stub, job_id), within=10)
    assert job.state == job_pb2.JOB_STATE_SUCCEEDED and job.attempt == 1
    await assert_eventually(lambda: _state_is(o.stub, "similarity", SERVING), within=10)


async def _state(stub: Stub, job_id: str, state: int) -> bool:
    return (await job_of(stub, job_id)).state == state


async def _state_is(stub: Stub, service: str, state: int) -> pb.StageServiceStatus | None:
    found = await service_state(stub, service)
    return found if found.state == state else None
