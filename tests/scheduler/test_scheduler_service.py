"""Service tests: the scheduler over real in-process gRPC, stage services played by programmable doubles."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.rpc import error_details_pb2
from skillbridge.common.v1 import course_pb2
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.settings import Settings
from services.scheduler.server import SchedulerServer, start
from tests.scheduler.grpc_helpers import (
    course_request,
    events_of,
    field_violations,
    noop_request,
    rich_status,
    watch_all,
)
from tests.scheduler.stage_doubles import Behavior, StageDoubles
from tests.support import assert_eventually

Stub = pb_grpc.JobSchedulerServiceStub
STAGE_NAMES = [job_pb2.Stage.Name(s) for s in range(1, 7)]


async def run_to_end(stub: Stub, request: pb.SubmitJobRequest) -> tuple[job_pb2.Job, list[job_pb2.JobEvent]]:
    submitted = await stub.SubmitJob(request)
    updates = await watch_all(stub, submitted.job.id)
    final = await stub.GetJob(pb.GetJobRequest(job_id=submitted.job.id))
    return final.job, events_of(updates)


async def test_noop_job_runs_and_returns_its_payload(stub: Stub) -> None:
    submitted = await stub.SubmitJob(noop_request(b"hello"))
    assert submitted.job.state == job_pb2.JOB_STATE_QUEUED
    assert submitted.job.id and submitted.job.position_in_queue >= 1
    job, events = await run_to_end(stub, noop_request(b"hello"))
    assert job.state == job_pb2.JOB_STATE_SUCCEEDED
    assert job.noop_result.payload == b"hello"
    assert [e.WhichOneof("kind") for e in events] == ["queued", "started", "succeeded"]


async def test_course_job_runs_six_stages_in_order(stub: Stub, doubles: tuple[StageDoubles, str]) -> None:
    job, events = await run_to_end(stub, course_request())
    assert job.state == job_pb2.JOB_STATE_SUCCEEDED, job.error
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    started = [job_pb2.Stage.Name(e.stage_started.stage) for e in events if e.HasField("stage_started")]
    finished = [job_pb2.Stage.Name(e.stage_finished.stage) for e in events if e.HasField("stage_finished")]
    assert started == finished == STAGE_NAMES
    assert all(s.state == job_pb2.STAGE_STATE_SUCCEEDED for s in job.stages)
    assert job.progress == 1.0
    result = job.course_recommendation_result
    assert set(result.skill_gap) == {"Kubernetes", "Kafka", "Terraform"}
    assert set(result.user_skills) == {"Python", "SQL", "Docker", "Airflow"}
    assert {c.course.title for c in result.recommended_courses} == {
        "Learn Kubernetes",
        "Learn Kafka",
        "Learn Terraform",
    }
    assert all(c.score_improvement > 0 for c in result.recommended_courses)
    skills_event = next(e for e in events if e.stage_finished.stage == job_pb2.STAGE_SKILL_EXTRACTION)
    assert skills_event.stage_finished.metrics["skills_found"] == 4


async def test_course_job_carries_the_explained_matches(stub: Stub) -> None:
    """What the stage services say about the job ad (its kind, field, required skills, explained matches and the
    calibrated threshold) reaches the result; every missing skill here has a course, so none is uncovered."""
    job, _ = await run_to_end(stub, course_request())
    details = job.course_recommendation_result.matching_details
    assert details.job_field == "software"
    assert details.calibrated_threshold == pytest.approx(0.4)
    assert [m.job_skill for m in details.job_skill_matches] == ["Python", "SQL", "Kubernetes", "Kafka", "Terraform"]
    assert [m.kind for m in details.job_skill_matches].count(course_pb2.MATCH_KIND_MISSING) == 3
    assert all(m.required and m.skill_id.startswith("double:") for m in details.job_skill_matches)
    assert list(job.course_recommendation_result.uncovered_skills) == []


@pytest.mark.parametrize(
    ("request_", "fields"),
    [
        (
            pb.SubmitJobRequest(
                type=job_pb2.JOB_TYPE_COURSE_RECOMMENDATION,
                course_recommendation=job_pb2.CourseRecommendationInput(resume_text="", job_description_text=" "),
            ),
            ["course_recommendation.resume_text", "course_recommendation.job_description_text"],
        ),
        (pb.SubmitJobRequest(), ["type"]),
        (pb.SubmitJobRequest(type=99), ["type"]),
        (noop_request(priority=-1), ["priority"]),
        (noop_request(priority=100), ["priority"]),
    ],
)
async def test_bad_submissions_are_invalid_argument_with_field_violations(
    stub: Stub, request_: pb.SubmitJobRequest, fields: list[str]
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.SubmitJob(request_)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(caught.value) == fields
    listed = await stub.ListJobs(pb.ListJobsRequest())
    assert list(listed.jobs) == []  # nothing half-written


async def test_ten_megabyte_text_is_refused_by_field(stub: Stub) -> None:
    huge = "python " * (10 * 1024 * 1024 // 7)
    request = pb.SubmitJobRequest(
        type=job_pb2.JOB_TYPE_COURSE_RECOMMENDATION,
        course_recommendation=job_pb2.CourseRecommendationInput(resume_text=huge, job_description_text="SQL"),
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.SubmitJob(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(caught.value) == ["course_recommendation.resume_text"]
    assert list((await stub.ListJobs(pb.ListJobsRequest())).jobs) == []


async def test_unknown_job_is_not_found(stub: Stub) -> None:
    for call in (
        stub.GetJob(pb.GetJobRequest(job_id="no-such-job")),
        stub.CancelJob(pb.CancelJobRequest(job_id="no-such-job")),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await watch_all(stub, "no-such-job")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetJob(pb.GetJobRequest(job_id=""))
    assert field_violations(caught.value) == ["job_id"]


async def test_request_id_makes_submit_idempotent(stub: Stub) -> None:
    first = await stub.SubmitJob(noop_request(request_id="abc"))
    again = await stub.SubmitJob(noop_request(request_id="abc"))
    assert again.job.id == first.job.id and again.deduplicated and not first.deduplicated


@pytest.fixture
async def idle_scheduler(stage_settings: Settings) -> SchedulerServer:
    """A scheduler whose dispatcher does not run, so jobs stay queued."""
    server = await start(stage_settings.replace(run_dispatcher=False, max_queue_depth=3), port=0)
    yield server  # type: ignore[misc]
    await server.stop(0.1)


@pytest.fixture
async def idle_stub(idle_scheduler: SchedulerServer) -> Stub:
    async with grpc.aio.insecure_channel(idle_scheduler.address) as channel:
        yield pb_grpc.JobSchedulerServiceStub(channel)  # type: ignore[misc]


async def test_full_queue_is_resource_exhausted_with_retry_info(idle_stub: Stub) -> None:
    for _ in range(3):
        await idle_stub.SubmitJob(noop_request())
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await idle_stub.SubmitJob(noop_request())
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    details = rich_status(caught.value).details
    assert any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in details)


async def test_positions_are_recomputed_when_jobs_ahead_leave(idle_stub: Stub) -> None:
    jobs = [(await idle_stub.SubmitJob(noop_request())).job for _ in range(3)]
    assert [j.position_in_queue for j in jobs] == [1, 2, 3]
    stream = idle_stub.WatchJob(pb.WatchJobRequest(job_id=jobs[2].id))
    first = await stream.read()
    assert first.snapshot.position_in_queue == 3
    assert (await stream.read()).event.queued.position_in_queue == 3
    await idle_stub.CancelJob(pb.CancelJobRequest(job_id=jobs[0].id))
    update = await stream.read()
    assert update.snapshot.position_in_queue == 2
    stream.cancel()
    second = await idle_stub.GetJob(pb.GetJobRequest(job_id=jobs[1].id))
    assert second.job.position_in_queue == 1
    assert second.job.estimated_wait.ToTimedelta().total_seconds() >= 0


async def test_higher_priority_goes_first(idle_stub: Stub) -> None:
    low = (await idle_stub.SubmitJob(noop_request())).job
    high = (await idle_stub.SubmitJob(noop_request(priority=5))).job
    assert high.position_in_queue == 1
    low_now = (await idle_stub.GetJob(pb.GetJobRequest(job_id=low.id))).job
    assert low_now.position_in_queue == 2


async def test_cancel_queued_job(idle_stub: Stub) -> None:
    job = (await idle_stub.SubmitJob(noop_request())).job
    cancelled = await idle_stub.CancelJob(pb.CancelJobRequest(job_id=job.id, reason="changed my mind"))
    assert cancelled.job.state == job_pb2.JOB_STATE_CANCELLED
    events = events_of(await watch_all(idle_stub, job.id))
    assert events[-1].cancelled.reason == "changed my mind"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await idle_stub.CancelJob(pb.CancelJobRequest(job_id=job.id))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_cancel_during_hanging_stage_cancels_the_stage_rpc(stub: Stub, doubles: tuple[StageDoubles, str]) -> None:
    d, _ = doubles
    d.behaviors["ExtractSkills"] = Behavior(hang=True)
    job = (await stub.SubmitJob(course_request())).job
    await asyncio.wait_for(d.signal("ExtractSkills").wait(), 10)
    cancelled = await stub.CancelJob(pb.CancelJobRequest(job_id=job.id))
    assert cancelled.job.state == job_pb2.JOB_STATE_CANCELLED
    await asyncio.wait_for(d.was_cancelled("ExtractSkills").wait(), 5)
    events = events_of(await watch_all(stub, job.id))
    assert events[-1].cancelled.stage == job_pb2.STAGE_SKILL_EXTRACTION
    final = (await stub.GetJob(pb.GetJobRequest(job_id=job.id))).job
    assert final.stages[1].state == job_pb2.STAGE_STATE_CANCELLED
    assert d.calls["CompareSkills"] == 0  # no further stage started


async def test_unavailable_stage_is_retried(stub: Stub, doubles: tuple[StageDoubles, str]) -> None:
    d, _ = doubles
    d.behaviors["CompareSkills"] = Behavior(fail_code=grpc.StatusCode.UNAVAILABLE, fail_times=2)
    job, _ = await run_to_end(stub, course_request())
    assert job.state == job_pb2.JOB_STATE_SUCCEEDED
    assert d.calls["CompareSkills"] == 3


async def test_other_stage_errors_fail_the_job_without_retry(stub: Stub, doubles: tuple[StageDoubles, str]) -> None:
    d, _ = doubles
    d.behaviors["SearchCourses"] = Behavior(fail_code=grpc.StatusCode.INTERNAL, fail_times=-1)
    job, events = await run_to_end(stub, course_request())
    assert job.state == job_pb2.JOB_STATE_FAILED
    assert d.calls["SearchCourses"] == 1
    assert events[-1].failed.stage == job_pb2.STAGE_COURSE_RETRIEVAL
    assert "COURSE_RETRIEVAL" in job.error.message and "INTERNAL" in job.error.message
    assert job.stages[3].state == job_pb2.STAGE_STATE_FAILED


async def test_stage_deadline_fails_the_job(stage_settings: Settings, doubles: tuple[StageDoubles, str]) -> None:
    d, _ = doubles
    d.behaviors["RecommendCourses"] = Behavior(delay=3.0)
    server = await start(stage_settings.replace(stage_timeout_seconds=0.3), port=0)
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            job, _ = await run_to_end(pb_grpc.JobSchedulerServiceStub(channel), course_request())
        assert job.state == job_pb2.JOB_STATE_FAILED
        assert "DEADLINE_EXCEEDED" in job.error.message
    finally:
        await server.stop(0.1)


async def test_queue_status_reports_counts_and_stage_timings(stub: Stub) -> None:
    await run_to_end(stub, course_request())
    status = await stub.GetQueueStatus(pb.GetQueueStatusRequest())
    assert status.jobs_by_state["JOB_STATE_SUCCEEDED"] == 1
    assert status.workers == 2 and status.healthy
    assert {job_pb2.Stage.Name(t.stage) for t in status.stage_timings} == set(STAGE_NAMES)
    assert "course_recommendation" in status.mean_job_duration


async def test_list_jobs_pages_and_filters(stub: Stub) -> None:
    ids = [(await run_to_end(stub, noop_request()))[0].id for _ in range(3)]
    page = await stub.ListJobs(pb.ListJobsRequest(page_size=2))
    assert [j.id for j in page.jobs] == ids[::-1][:2] and page.next_page_token
    rest = await stub.ListJobs(pb.ListJobsRequest(page_size=2, page_token=page.next_page_token))
    assert [j.id for j in rest.jobs] == ids[:1] and not rest.next_page_token
    none = await stub.ListJobs(pb.ListJobsRequest(states=[job_pb2.JOB_STATE_FAILED]))
    assert list(none.jobs) == []


async def test_finished_jobs_are_swept_after_their_ttl(stage_settings: Settings) -> None:
    quick = stage_settings.replace(result_ttl_seconds=0.2, sweep_interval_seconds=0.0, lease_seconds=0.3)
    server = await start(quick, port=0)
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.JobSchedulerServiceStub(channel)
            job, _ = await run_to_end(stub, noop_request())
            assert job.state == job_pb2.JOB_STATE_SUCCEEDED

            async def gone() -> bool:
                try:
                    await stub.GetJob(pb.GetJobRequest(job_id=job.id))
                except grpc.aio.AioRpcError as exc:
                    return exc.code() == grpc.StatusCode.NOT_FOUND
                return False

            await assert_eventually(gone, within=10)
    finally:
        await server.stop(0.1)
