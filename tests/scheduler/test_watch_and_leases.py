"""Streams that resume, leases that expire, fencing that rejects a stale worker, auth, LRO, health, reflection."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import duration_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.settings import Settings
from services.scheduler import core
from services.scheduler.server import SchedulerServer, start
from tests.scheduler.grpc_helpers import course_request, events_of, noop_request, watch_all
from tests.scheduler.stage_doubles import Behavior, StageDoubles

Stub = pb_grpc.JobSchedulerServiceStub


async def test_dropped_watch_resumes_from_last_sequence(stub: Stub, doubles: tuple[StageDoubles, str]) -> None:
    d, _ = doubles
    for name in ("ExtractEntities", "ExtractSkills", "CompareSkills", "SearchCourses", "RecommendCourses"):
        d.behaviors[name] = Behavior(delay=0.1)
    job = (await stub.SubmitJob(course_request())).job
    seen: list[int] = []
    stream = stub.WatchJob(pb.WatchJobRequest(job_id=job.id))
    async for update in stream:
        if update.HasField("event"):
            seen.append(update.event.sequence)
            if (
                update.event.HasField("stage_started")
                and update.event.stage_started.stage == job_pb2.STAGE_SKILL_EXTRACTION
            ):
                break  # the client drops the stream mid-job
    stream.cancel()
    rest = events_of(await watch_all(stub, job.id, after=seen[-1]))
    sequences = seen + [e.sequence for e in rest]
    assert sequences == list(range(1, len(sequences) + 1)), "every event once, in order, no gaps"
    assert rest[-1].HasField("succeeded")


async def test_watch_after_the_end_replays_only_what_is_asked(stub: Stub) -> None:
    job = (await stub.SubmitJob(noop_request())).job
    everything = events_of(await watch_all(stub, job.id))
    tail = events_of(await watch_all(stub, job.id, after=everything[-1].sequence - 1))
    assert [e.sequence for e in tail] == [everything[-1].sequence]
    assert events_of(await watch_all(stub, job.id, after=everything[-1].sequence)) == []


async def test_expired_lease_requeues_and_fencing_rejects_the_stale_worker(stage_settings: Settings) -> None:
    # Scheduler A takes the job but runs no dispatcher; a "ghost" worker claims it and goes silent, as if its
    # process had died. Scheduler B, on the same store, re-queues it when the lease runs out and runs it.
    a = await start(stage_settings.replace(run_dispatcher=False), port=0)
    b: SchedulerServer | None = None
    try:
        async with grpc.aio.insecure_channel(a.address) as channel:
            stub = pb_grpc.JobSchedulerServiceStub(channel)
            job = (await stub.SubmitJob(noop_request(b"x"))).job
            (stale,) = await a.store.claim(
                worker="ghost",
                now=time.time(),
                lease_seconds=0.3,
                limit=1,
                start=core.starter("ghost", time.time(), 0.3),
            )
            assert stale.id == job.id
            b = await start(stage_settings, port=0)
            events = events_of(await watch_all(stub, job.id))
            assert events[-1].HasField("succeeded")
            retried = [e for e in events if e.HasField("retried")]
            assert len(retried) == 1 and retried[0].retried.reason == "lease expired"
            assert (await stub.GetJob(pb.GetJobRequest(job_id=job.id))).job.attempt == 2
            now = time.time()
            with pytest.raises(core.StaleAttempt):
                await a.store.transition(job.id, stale.fence, lambda j: core.succeed(j, b"", now, 60), now)
            assert sum(1 for e in events if e.HasField("succeeded")) == 1
    finally:
        if b is not None:
            await b.stop(0.1)
        await a.stop(0.1)


@pytest.fixture
async def keyed(stage_settings: Settings) -> SchedulerServer:
    keys = "ka=alice,kb=bob,kadm=root:admin"
    server = await start(stage_settings.replace(api_keys=keys, run_dispatcher=False), port=0)
    yield server  # type: ignore[misc]
    await server.stop(0.1)


def bearer(key: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {key}"),)


async def test_owners_see_only_their_jobs(keyed: SchedulerServer) -> None:
    async with grpc.aio.insecure_channel(keyed.address) as channel:
        stub = pb_grpc.JobSchedulerServiceStub(channel)
        job = (await stub.SubmitJob(noop_request(), metadata=bearer("ka"))).job
        assert job.owner == "alice"
        for call in (
            stub.GetJob(pb.GetJobRequest(job_id=job.id), metadata=bearer("kb")),
            stub.CancelJob(pb.CancelJobRequest(job_id=job.id), metadata=bearer("kb")),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await watch_all(stub, job.id, metadata=bearer("kb"))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        assert list((await stub.ListJobs(pb.ListJobsRequest(), metadata=bearer("kb"))).jobs) == []
        admin_view = await stub.ListJobs(pb.ListJobsRequest(), metadata=bearer("kadm"))
        assert [j.id for j in admin_view.jobs] == [job.id]
        for metadata in (None, bearer("wrong"), (("authorization", "Basic abc"),)):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.GetJob(pb.GetJobRequest(job_id=job.id), metadata=metadata)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_long_running_operations_view(scheduler: SchedulerServer, stub: Stub) -> None:
    async with grpc.aio.insecure_channel(scheduler.address) as channel:
        ops = operations_pb2_grpc.OperationsStub(channel)
        job = (await stub.SubmitJob(noop_request(b"op"))).job
        done = await ops.WaitOperation(
            operations_pb2.WaitOperationRequest(name=f"operations/{job.id}", timeout=duration_pb2.Duration(seconds=10))
        )
        assert done.done and done.name == f"operations/{job.id}"
        result = job_pb2.Job()
        done.response.Unpack(result)
        assert result.state == job_pb2.JOB_STATE_SUCCEEDED and result.noop_result.payload == b"op"
        got = await ops.GetOperation(operations_pb2.GetOperationRequest(name=f"operations/{job.id}"))
        assert got.done
        listed = await ops.ListOperations(operations_pb2.ListOperationsRequest(name="operations"))
        assert [o.name for o in listed.operations] == [f"operations/{job.id}"]
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await ops.CancelOperation(operations_pb2.CancelOperationRequest(name=f"operations/{job.id}"))
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_health_and_reflection(scheduler: SchedulerServer) -> None:
    async with grpc.aio.insecure_channel(scheduler.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        reply = await health.Check(
            health_pb2.HealthCheckRequest(service="skillbridge.scheduler.v1.JobSchedulerService")
        )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = reflect.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        names = {s.name async for r in responses for s in r.list_services_response.service}
        assert {
            "skillbridge.scheduler.v1.JobSchedulerService",
            "google.longrunning.Operations",
            "grpc.health.v1.Health",
        } <= names


async def test_draining_server_reports_not_serving(stage_settings: Settings) -> None:
    server = await start(stage_settings, port=0)
    async with grpc.aio.insecure_channel(server.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        await server.running.health.enter_graceful_shutdown()
        reply = await health.Check(health_pb2.HealthCheckRequest(service=""))
        assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING
    await server.stop(0.1)


async def test_stopping_hands_running_jobs_back_to_the_queue(
    stage_settings: Settings, doubles: tuple[StageDoubles, str]
) -> None:
    d, _ = doubles
    d.behaviors["ExtractEntities"] = Behavior(hang=True)
    server = await start(stage_settings, port=0)
    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = pb_grpc.JobSchedulerServiceStub(channel)
        job = (await stub.SubmitJob(course_request())).job
        await asyncio.wait_for(d.signal("ExtractEntities").wait(), 10)
    store_path = stage_settings.sqlite_path()
    await server.stop(0.1)
    again = await start(stage_settings.replace(run_dispatcher=False), port=0)
    try:
        record = await again.store.get(job.id)
        assert record is not None and record.state.value == "QUEUED" and store_path.exists()
        events = await again.store.events(job.id, 0)
        assert events[-1].kind.value == "retried"
    finally:
        await again.stop(0.1)
