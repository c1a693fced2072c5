"""SubmitJobs (many jobs, one transaction, all or nothing) and SubmitAndWatchJob (submit and follow in one
call), over real gRPC, on both stores."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.settings import Settings
from tests.scheduler.grpc_helpers import course_request, field_violations, noop_request
from tests.scheduler.redis_support import scheduler_on

Stub = pb_grpc.JobSchedulerServiceStub


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def idle(request: pytest.FixtureRequest, stage_settings: Settings) -> AsyncIterator[Stub]:
    """A scheduler with no dispatcher (jobs stay queued) and a queue of at most 5."""
    settings = stage_settings.replace(run_dispatcher=False, max_queue_depth=5)
    async with scheduler_on(request.param, settings) as stub:
        yield stub


async def all_jobs(stub: Stub) -> list[job_pb2.Job]:
    return list((await stub.ListJobs(pb.ListJobsRequest(page_size=100))).jobs)


async def test_a_batch_is_queued_in_order_with_positions(idle: Stub) -> None:
    batch = pb.SubmitJobsRequest(requests=[noop_request(b"a"), course_request(priority=2), noop_request(b"c")])
    response = await idle.SubmitJobs(batch)
    jobs = [r.job for r in response.responses]
    assert [j.state for j in jobs] == [job_pb2.JOB_STATE_QUEUED] * 3
    assert [j.position_in_queue for j in jobs] == [2, 1, 3]
    assert [j.type for j in jobs][1] == job_pb2.JOB_TYPE_COURSE_RECOMMENDATION
    assert {j.id for j in await all_jobs(idle)} == {j.id for j in jobs}


async def test_one_bad_job_refuses_the_whole_batch_naming_it(idle: Stub) -> None:
    bad = course_request()
    bad.course_recommendation.resume_text = " "
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await idle.SubmitJobs(pb.SubmitJobsRequest(requests=[noop_request(), bad, noop_request(priority=42)]))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(caught.value) == ["requests[1].course_recommendation.resume_text", "requests[2].priority"]
    assert await all_jobs(idle) == []


async def test_a_batch_over_the_queue_depth_stores_nothing(idle: Stub) -> None:
    await idle.SubmitJob(noop_request())
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await idle.SubmitJobs(pb.SubmitJobsRequest(requests=[noop_request() for _ in range(5)]))
    assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert len(await all_jobs(idle)) == 1
    done = await idle.SubmitJobs(pb.SubmitJobsRequest(requests=[noop_request() for _ in range(4)]))
    assert [r.job.position_in_queue for r in done.responses] == [2, 3, 4, 5]


async def test_a_repeated_request_id_in_a_batch_returns_the_earlier_job(idle: Stub) -> None:
    first = await idle.SubmitJob(noop_request(request_id="r1"))
    done = await idle.SubmitJobs(pb.SubmitJobsRequest(requests=[noop_request(request_id="r1"), noop_request()]))
    assert [r.deduplicated for r in done.responses] == [True, False]
    assert done.responses[0].job.id == first.job.id


async def test_an_empty_batch_is_refused(idle: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await idle.SubmitJobs(pb.SubmitJobsRequest())
    assert field_violations(caught.value) == ["requests"]


async def test_submit_and_watch_follows_the_job_to_its_result(stub: Stub) -> None:
    updates = [u async for u in stub.SubmitAndWatchJob(pb.SubmitAndWatchJobRequest(job=course_request()))]
    assert updates[0].HasField("snapshot") and not updates[0].deduplicated
    job_id = updates[0].snapshot.id
    events = [u.event for u in updates if u.HasField("event")]
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert events[0].WhichOneof("kind") == "queued" and events[-1].WhichOneof("kind") == "succeeded"
    assert all(e.job_id == job_id for e in events)
    final = await stub.GetJob(pb.GetJobRequest(job_id=job_id))
    assert final.job.state == job_pb2.JOB_STATE_SUCCEEDED and final.job.course_recommendation_result.job_skills


async def test_submit_and_watch_refuses_bad_input_before_streaming(stub: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in stub.SubmitAndWatchJob(pb.SubmitAndWatchJobRequest(job=pb.SubmitJobRequest())):
            pass
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(caught.value) == ["type"]
