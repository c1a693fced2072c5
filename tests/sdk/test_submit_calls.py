"""The batch submit and submit-and-watch calls (SubmitJobs, SubmitAndWatchJob).

Checked against the scripted scheduler until the scheduler serves them: what the client sends, how it reads the
answers, how it resumes a broken stream without submitting twice, and its fallback (SubmitJob, then WatchJob) for a
scheduler that answers UNIMPLEMENTED. The last test runs against the real scheduler, whichever path it takes."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge_client import (
    AsyncSchedulerClient,
    InvalidRequest,
    Job,
    JobEvent,
    JobState,
    JobType,
    SchedulerClient,
    Unavailable,
    analysis_job,
    noop_job,
)

from tests.sdk.harness import JOB_DESCRIPTION, RESUME, Stack
from tests.sdk.scripted import Fail, ScriptedServer, job_response


def job(job_id: str, state: int = JobState.QUEUED) -> Job:
    return job_response(job_id, state).job


def streamed(*updates: Job | JobEvent) -> list[pb.SubmitAndWatchJobResponse]:
    return [
        pb.SubmitAndWatchJobResponse(snapshot=u) if isinstance(u, Job) else pb.SubmitAndWatchJobResponse(event=u)
        for u in updates
    ]


def event(job_id: str, sequence: int, kind: str = "started") -> JobEvent:
    update = JobEvent(job_id=job_id, sequence=sequence)
    if kind == "succeeded":
        update.succeeded.SetInParent()
    else:
        update.started.attempt = 1
    return update


async def test_submit_jobs_sends_one_batch_and_returns_jobs_in_order(scripted: ScriptedServer) -> None:
    answer = pb.SubmitJobsResponse(responses=[pb.SubmitJobResponse(job=job("a")), pb.SubmitJobResponse(job=job("b"))])
    scripted.scheduler.script("SubmitJobs", answer)
    async with AsyncSchedulerClient(scripted.address, api_key="k") as client:
        jobs = await client.submit_jobs([analysis_job(RESUME, JOB_DESCRIPTION, threshold=0.7), noop_job(b"x")])
    assert [j.id for j in jobs] == ["a", "b"]
    [call] = scripted.scheduler.calls("SubmitJobs")
    assert [r.type for r in call.request.requests] == [JobType.COURSE_RECOMMENDATION, JobType.NOOP]
    assert call.request.requests[0].course_recommendation.threshold == 0.7
    assert call.metadata["authorization"] == "Bearer k"


def test_submit_jobs_refused_names_the_request(scripted: ScriptedServer) -> None:
    bad = error_details_pb2.BadRequest()
    bad.field_violations.add(field="requests[1].course_recommendation.resume_text", description="must not be empty")
    scripted.scheduler.script("SubmitJobs", Fail(grpc.StatusCode.INVALID_ARGUMENT, "invalid batch", [bad]))
    with SchedulerClient(scripted.address) as client, pytest.raises(InvalidRequest) as info:
        client.submit_jobs([analysis_job(RESUME, JOB_DESCRIPTION), analysis_job("", JOB_DESCRIPTION)])
    assert info.value.field_violations[0].field == "requests[1].course_recommendation.resume_text"


async def test_submit_and_watch_yields_the_job_then_its_events(scripted: ScriptedServer) -> None:
    scripted.scheduler.script("SubmitAndWatchJob", *streamed(job("j1"), event("j1", 1), event("j1", 2, "succeeded")))
    async with AsyncSchedulerClient(scripted.address) as client:
        updates = [u async for u in client.submit_and_watch(analysis_job(RESUME, JOB_DESCRIPTION))]
    assert isinstance(updates[0], Job) and updates[0].id == "j1"
    assert [u.sequence for u in updates[1:] if isinstance(u, JobEvent)] == [1, 2]
    [call] = scripted.scheduler.calls("SubmitAndWatchJob")
    assert call.request.job.course_recommendation.resume_text == RESUME
    assert call.request.job.request_id.startswith("sdk-")  # so a retried submit is recognised
    assert not scripted.scheduler.calls("WatchJob")


def test_submit_and_watch_resumes_without_submitting_twice(scripted: ScriptedServer) -> None:
    """Down before the job was stored: the submit is retried under the same request_id. Down after: the
    stream resumes with WatchJob after the last event seen."""
    scripted.scheduler.script("SubmitAndWatchJob", Fail(grpc.StatusCode.UNAVAILABLE, "connection refused"))
    scripted.scheduler.script(
        "SubmitAndWatchJob", *streamed(job("j1"), event("j1", 1)), Fail(grpc.StatusCode.UNAVAILABLE, "going away")
    )
    scripted.scheduler.script(
        "WatchJob",
        pb.WatchJobResponse(snapshot=job("j1", JobState.RUNNING)),
        pb.WatchJobResponse(event=event("j1", 1)),  # a replay the client already has
        pb.WatchJobResponse(event=event("j1", 2, "succeeded")),
    )
    with SchedulerClient(scripted.address) as client:
        updates = list(client.submit_and_watch(analysis_job(RESUME, JOB_DESCRIPTION, request_id="mine")))
    assert [u.sequence for u in updates if isinstance(u, JobEvent)] == [1, 2]
    submits = scripted.scheduler.calls("SubmitAndWatchJob")
    assert [c.request.job.request_id for c in submits] == ["mine", "mine"]
    [watch] = scripted.scheduler.calls("WatchJob")
    assert watch.request.job_id == "j1" and watch.request.after_sequence == 1


async def test_submit_and_watch_falls_back_on_an_older_scheduler(scripted: ScriptedServer) -> None:
    scripted.scheduler.script("SubmitAndWatchJob", Fail(grpc.StatusCode.UNIMPLEMENTED, "unknown method"))
    scripted.scheduler.script("SubmitJob", pb.SubmitJobResponse(job=job("j1")))
    scripted.scheduler.script(
        "WatchJob", pb.WatchJobResponse(snapshot=job("j1")), pb.WatchJobResponse(event=event("j1", 1, "succeeded"))
    )
    async with AsyncSchedulerClient(scripted.address) as client:
        updates = [u async for u in client.submit_and_watch(noop_job(b"x", request_id="r1"))]
    assert isinstance(updates[0], Job) and updates[0].id == "j1"
    assert isinstance(updates[-1], JobEvent) and updates[-1].WhichOneof("kind") == "succeeded"
    assert scripted.scheduler.calls("SubmitJob")[0].request.request_id == "r1"


async def test_submit_and_watch_raises_what_retrying_cannot_fix(scripted: ScriptedServer) -> None:
    scripted.scheduler.script("SubmitAndWatchJob", Fail(grpc.StatusCode.INVALID_ARGUMENT, "threshold out of range"))
    for _ in range(2):
        scripted.scheduler.script("SubmitAndWatchJob", Fail(grpc.StatusCode.UNAVAILABLE, "down"))
    async with AsyncSchedulerClient(scripted.address, reconnect_attempts=1) as client:
        with pytest.raises(InvalidRequest):
            [u async for u in client.submit_and_watch(analysis_job(RESUME, JOB_DESCRIPTION, threshold=3))]
        with pytest.raises(Unavailable):
            [u async for u in client.submit_and_watch(analysis_job(RESUME, JOB_DESCRIPTION))]


async def test_submit_and_watch_against_the_scheduler(stack: Stack) -> None:
    async with AsyncSchedulerClient(stack.address) as client:
        updates = [u async for u in client.submit_and_watch(analysis_job(RESUME, JOB_DESCRIPTION))]
        first = updates[0]
        assert isinstance(first, Job) and first.id
        events = [u for u in updates if isinstance(u, JobEvent)]
        assert [e.sequence for e in events] == list(range(1, len(events) + 1))
        assert events[-1].WhichOneof("kind") == "succeeded"
        assert (await client.get(first.id)).state == JobState.SUCCEEDED
