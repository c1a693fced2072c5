"""A request_id names one request: the same body again returns the first job (deduplicated); another body under
the same key is ALREADY_EXISTS saying the key was used for another request, on both stores, for SubmitJob,
SubmitJobs and SubmitAndWatchJob."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import duration_pb2
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.settings import Settings
from services.scheduler.server import start
from tests.scheduler.grpc_helpers import course_request, noop_request, rich_status
from tests.scheduler.redis_support import scheduler_on

Stub = pb_grpc.JobSchedulerServiceStub


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def idle(request: pytest.FixtureRequest, stage_settings: Settings) -> AsyncIterator[Stub]:
    """A scheduler with no dispatcher (jobs stay queued) on either store."""
    settings = stage_settings.replace(run_dispatcher=False)
    async with scheduler_on(request.param, settings) as stub:
        yield stub


def refused(error: grpc.aio.AioRpcError, key: str) -> None:
    details = error.details() or ""
    assert error.code() is grpc.StatusCode.ALREADY_EXISTS, (error.code(), details)
    assert "used for another request" in details and key[:20] in details
    assert rich_status(error).code == grpc.StatusCode.ALREADY_EXISTS.value[0]


OTHER_BODIES = {
    "other text": lambda key: course_request(request_id=key, skip_cache=True),
    "other type": lambda key: noop_request(b"x", request_id=key),
    "other priority": lambda key: noop_request(b"", request_id=key, priority=3),
    "other payload": lambda key: noop_request(b"y", request_id=key),
    "other delay": lambda key: noop_request(b"", request_id=key, delay=duration_pb2.Duration(seconds=60)),
}


@pytest.mark.parametrize("other", list(OTHER_BODIES))
async def test_a_key_reused_with_another_body_is_already_exists(idle: Stub, other: str) -> None:
    key = f"order-{other.replace(' ', '-')}"
    first = await idle.SubmitJob(noop_request(b"", request_id=key))
    again = await idle.SubmitJob(noop_request(b"", request_id=key))
    assert again.deduplicated and again.job.id == first.job.id
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await idle.SubmitJob(OTHER_BODIES[other](key))
    refused(caught.value, key)
    listed = (await idle.ListJobs(pb.ListJobsRequest(page_size=100))).jobs
    assert [j.id for j in listed] == [first.job.id]  # nothing was stored for the refused one


async def test_the_batch_and_submit_and_watch_refuse_it_too(idle: Stub) -> None:
    key = "k" * 100
    first = await idle.SubmitJob(noop_request(b"a", request_id=key))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await idle.SubmitJobs(pb.SubmitJobsRequest(requests=[noop_request(b"b", request_id=key)]))
    refused(caught.value, key)
    stream = idle.SubmitAndWatchJob(pb.SubmitAndWatchJobRequest(job=noop_request(b"b", request_id=key)))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stream.read()
    refused(caught.value, key)
    same = await idle.SubmitJobs(pb.SubmitJobsRequest(requests=[noop_request(b"a", request_id=key)]))
    assert same.responses[0].job.id == first.job.id and same.responses[0].deduplicated


async def test_another_owners_key_is_theirs(stage_settings: Settings) -> None:
    settings = stage_settings.replace(run_dispatcher=False, api_keys="ka=alice,kb=bob")
    server = await start(settings, port=0)
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.JobSchedulerServiceStub(channel)
            a = await stub.SubmitJob(noop_request(b"a", request_id="same"), metadata=[("authorization", "Bearer ka")])
            b = await stub.SubmitJob(noop_request(b"b", request_id="same"), metadata=[("authorization", "Bearer kb")])
            assert a.job.id != b.job.id and not b.deduplicated
            assert b.job.type == job_pb2.JOB_TYPE_NOOP
    finally:
        await server.stop(0.1)
