"""Scheduling policies over gRPC: tier caps, quotas, delayed jobs, dependency chains, ranking analyses."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import duration_pb2, timestamp_pb2
from google.rpc import error_details_pb2
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.settings import Settings
from services.scheduler.server import SchedulerServer, start
from tests.scheduler.grpc_helpers import course_request, events_of, noop_request, rich_status, watch_all
from tests.scheduler.stage_doubles import Behavior, StageDoubles

Stub = pb_grpc.JobSchedulerServiceStub
KEYS = "ks=sam:standard,kv=vera:vip,ka=root:admin"


def bearer(key: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {key}"),)


@pytest.fixture
async def keyed(stage_settings: Settings) -> AsyncIterator[SchedulerServer]:
    limited = stage_settings.replace(api_keys=KEYS, standard_max_queued=3, standard_submit_burst=50)
    server = await start(limited, port=0)
    yield server
    await server.stop(0.1)


@pytest.fixture
async def keyed_stub(keyed: SchedulerServer) -> AsyncIterator[Stub]:
    async with grpc.aio.insecure_channel(keyed.address) as channel:
        yield pb_grpc.JobSchedulerServiceStub(channel)


async def test_priority_is_capped_by_tier(keyed_stub: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await keyed_stub.SubmitJob(noop_request(priority=5), metadata=bearer("ks"))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "standard" in (caught.value.details() or "")
    vip = await keyed_stub.SubmitJob(noop_request(priority=8), metadata=bearer("kv"))
    assert vip.job.priority == 8


async def test_over_quota_is_resource_exhausted_with_quota_failure(keyed: SchedulerServer, keyed_stub: Stub) -> None:
    delayed = pb.SubmitJobRequest(
        type=job_pb2.JOB_TYPE_NOOP, noop=job_pb2.NoopInput(), delay=duration_pb2.Duration(seconds=3600)
    )
    for _ in range(3):
        await keyed_stub.SubmitJob(delayed, metadata=bearer("ks"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await keyed_stub.SubmitJob(delayed, metadata=bearer("ks"))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    details = rich_status(caught.value).details
    assert any(d.Is(error_details_pb2.QuotaFailure.DESCRIPTOR) for d in details)
    assert any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in details)
    assert error_reason(caught.value) == "QUOTA_EXCEEDED"
    status = await keyed_stub.GetQueueStatus(pb.GetQueueStatusRequest(), metadata=bearer("ks"))
    quota = status.caller_quota
    assert (quota.owner, quota.tier, quota.max_queued, quota.queued) == ("sam", "standard", 3, 3)
    admin = await keyed_stub.GetQueueStatus(pb.GetQueueStatusRequest(), metadata=bearer("ka"))
    assert admin.caller_quota.tier == "admin" and admin.caller_quota.max_queued == 0


def error_reason(error: grpc.aio.AioRpcError) -> str:
    for detail in rich_status(error).details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return ""


async def test_a_rate_limit_says_so_and_when_in_whole_seconds(stage_settings: Settings) -> None:
    limited = stage_settings.replace(api_keys=KEYS, standard_submit_rate=0.01, standard_submit_burst=1)
    server = await start(limited, port=0)
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.JobSchedulerServiceStub(channel)
            await stub.SubmitJob(noop_request(), metadata=bearer("ks"))
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.SubmitJob(noop_request(), metadata=bearer("ks"))
    finally:
        await server.stop(0.1)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(caught.value) == "RATE_LIMITED"
    assert "submits per second" in (caught.value.details() or "")
    assert "retry in 100 s" in (caught.value.details() or "")


async def test_delayed_job_waits_for_its_time(stub: Stub) -> None:
    not_before = timestamp_pb2.Timestamp()
    not_before.FromNanoseconds(int((time.time() + 0.6) * 1e9))
    request = noop_request()
    request.not_before.CopyFrom(not_before)
    job = (await stub.SubmitJob(request)).job
    assert job.state == job_pb2.JOB_STATE_SCHEDULED
    assert job.estimated_wait.ToTimedelta().total_seconds() > 0.3
    events = events_of(await watch_all(stub, job.id))
    kinds = [e.WhichOneof("kind") for e in events]
    assert kinds == ["scheduled", "released", "started", "succeeded"]
    started = next(e for e in events if e.HasField("started"))
    assert started.time.ToNanoseconds() >= not_before.ToNanoseconds()


async def test_delayed_job_can_be_cancelled_while_scheduled(stub: Stub) -> None:
    request = noop_request()
    request.delay.CopyFrom(duration_pb2.Duration(seconds=3600))
    job = (await stub.SubmitJob(request)).job
    cancelled = await stub.CancelJob(pb.CancelJobRequest(job_id=job.id))
    assert cancelled.job.state == job_pb2.JOB_STATE_CANCELLED


async def test_dependency_chain_runs_in_order(stub: Stub) -> None:
    a = (await stub.SubmitJob(course_request())).job
    b = (await stub.SubmitJob(noop_request(depends_on=[a.id]))).job
    c = (await stub.SubmitJob(noop_request(depends_on=[b.id]))).job
    assert b.state == c.state == job_pb2.JOB_STATE_WAITING
    c_events = events_of(await watch_all(stub, c.id))
    assert [e.WhichOneof("kind") for e in c_events] == ["waiting", "released", "started", "succeeded"]
    ends = {}
    for job_id in (a.id, b.id):
        done = (await stub.GetJob(pb.GetJobRequest(job_id=job_id))).job
        ends[job_id] = done.end_time.ToNanoseconds()
    b_done = (await stub.GetJob(pb.GetJobRequest(job_id=b.id))).job
    c_done = (await stub.GetJob(pb.GetJobRequest(job_id=c.id))).job
    assert ends[a.id] <= b_done.start_time.ToNanoseconds() and ends[b.id] <= c_done.start_time.ToNanoseconds()


async def test_failed_dependency_cancels_the_chain_with_reasons(stub: Stub, doubles: tuple[StageDoubles, str]) -> None:
    d, _ = doubles
    d.behaviors["CompareSkills"] = Behavior(fail_code=grpc.StatusCode.INTERNAL, fail_times=-1)
    a = (await stub.SubmitJob(course_request())).job
    b = (await stub.SubmitJob(noop_request(depends_on=[a.id]))).job
    c = (await stub.SubmitJob(noop_request(depends_on=[b.id]))).job
    for job_id, cause in ((b.id, a.id), (c.id, b.id)):
        events = events_of(await watch_all(stub, job_id))
        assert events[-1].HasField("cancelled")
        assert cause in events[-1].cancelled.reason
    assert (await stub.GetJob(pb.GetJobRequest(job_id=a.id))).job.state == job_pb2.JOB_STATE_FAILED


async def test_unknown_dependency_is_refused(stub: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.SubmitJob(noop_request(depends_on=["no-such-job"]))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_rank_analyses_reads_its_dependencies_results(stub: Stub) -> None:
    weak = (await stub.SubmitJob(course_request())).job
    strong_request = course_request()
    strong_request.course_recommendation.resume_text = "Python, SQL, Kubernetes, Kafka and Terraform daily."
    strong = (await stub.SubmitJob(strong_request)).job
    rank = (
        await stub.SubmitJob(
            pb.SubmitJobRequest(
                type=job_pb2.JOB_TYPE_RANK_ANALYSES,
                rank_analyses=job_pb2.RankAnalysesInput(),
                depends_on=[weak.id, strong.id],
            )
        )
    ).job
    await watch_all(stub, rank.id)
    done = (await stub.GetJob(pb.GetJobRequest(job_id=rank.id))).job
    assert done.state == job_pb2.JOB_STATE_SUCCEEDED, done.error.message
    ranked = done.rank_analyses_result.ranked
    assert [r.job_id for r in ranked] == [strong.id, weak.id]
    assert ranked[0].overall_score > ranked[1].overall_score


async def test_delayed_job_survives_a_restart_and_runs_at_its_time(stage_settings: Settings) -> None:
    first = await start(stage_settings.replace(run_dispatcher=False), port=0)
    async with grpc.aio.insecure_channel(first.address) as channel:
        request = noop_request()
        request.delay.CopyFrom(duration_pb2.Duration(nanos=800_000_000))
        job = (await pb_grpc.JobSchedulerServiceStub(channel).SubmitJob(request)).job
    await first.stop(0.1)
    second = await start(stage_settings, port=0)
    try:
        async with grpc.aio.insecure_channel(second.address) as channel:
            stub = pb_grpc.JobSchedulerServiceStub(channel)
            events = events_of(await watch_all(stub, job.id))
            assert [e.WhichOneof("kind") for e in events][-1] == "succeeded"
            started = next(e for e in events if e.HasField("started"))
            assert started.time.ToNanoseconds() >= job.not_before.ToNanoseconds()
    finally:
        await second.stop(0.1)
