"""SchedulerClient, the blocking face of the async client: its wire behaviour against a scripted scheduler
(requests, metadata, deadlines, rich errors, watch reconnect, streaming wait, closing a watch early), that it is
AsyncSchedulerClient's implementation and no copy, and a round trip against a real scheduler."""

from __future__ import annotations

import asyncio
import inspect

import grpc
import pytest
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge_client import (
    AsyncSchedulerClient,
    InvalidRequest,
    Job,
    JobEvent,
    JobState,
    NotFound,
    QuotaExceeded,
    SchedulerClient,
    Stage,
    Unavailable,
)

from tests.sdk.harness import JOB_DESCRIPTION, RESUME, Stack
from tests.sdk.scripted import Fail, Hold, ScriptedServer, job_response
from tests.support import wait_until


def event(sequence: int, kind: str = "stage_started") -> pb.WatchJobResponse:
    update = JobEvent(job_id="j1", sequence=sequence)
    if kind == "succeeded":
        update.succeeded.SetInParent()
    else:
        update.stage_started.stage = Stage.ENTITY_RECOGNITION
    return pb.WatchJobResponse(event=update)


def snapshot(state: int = JobState.RUNNING) -> pb.WatchJobResponse:
    return pb.WatchJobResponse(snapshot=job_response("j1", state).job)


def test_get_sends_key_and_deadline(scripted: ScriptedServer) -> None:
    scripted.scheduler.script("GetJob", job_response("j1", JobState.RUNNING))
    with SchedulerClient(scripted.address, api_key="secret", timeout=3.0) as client:
        assert client.get("j1").state == JobState.RUNNING
    [call] = scripted.scheduler.calls("GetJob")
    assert call.request.job_id == "j1"
    assert call.metadata["authorization"] == "Bearer secret"
    # The client's 3 s, as the server reads the propagated deadline (a few ms either way); the default is 10 s.
    assert call.time_remaining == pytest.approx(3.0, abs=0.5)


def test_rich_errors_become_typed(scripted: ScriptedServer) -> None:
    bad = error_details_pb2.BadRequest()
    bad.field_violations.add(field="course_recommendation.resume_text", description="must not be empty")
    retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=2, nanos=500_000_000))
    scripted.scheduler.script("SubmitJob", Fail(grpc.StatusCode.INVALID_ARGUMENT, "invalid job", [bad]))
    scripted.scheduler.script("SubmitJob", Fail(grpc.StatusCode.RESOURCE_EXHAUSTED, "queue full", [retry]))
    scripted.scheduler.script("CancelJob", Fail(grpc.StatusCode.NOT_FOUND, "job gone not found"))
    with SchedulerClient(scripted.address) as client:
        with pytest.raises(InvalidRequest) as invalid:
            client.submit_analysis("", "jd")
        assert invalid.value.field_violations[0].field == "course_recommendation.resume_text"
        with pytest.raises(QuotaExceeded) as quota:
            client.submit_noop(b"")
        assert quota.value.retry_after == pytest.approx(2.5)
        with pytest.raises(NotFound, match="job gone not found"):
            client.cancel("gone")
    sent = scripted.scheduler.calls("SubmitJob")[0].request
    assert sent.course_recommendation.threshold == 0.5 and sent.course_recommendation.job_description_text == "jd"


def test_watch_reconnects_after_unavailable(scripted: ScriptedServer) -> None:
    scripted.scheduler.script(
        "WatchJob", snapshot(), event(1), event(2), Fail(grpc.StatusCode.UNAVAILABLE, "server going away")
    )
    scripted.scheduler.script("WatchJob", snapshot(), event(2), event(3, "succeeded"))  # event 2 is a replay
    with SchedulerClient(scripted.address) as client:
        updates = list(client.watch("j1"))
    assert [u.sequence for u in updates if isinstance(u, JobEvent)] == [1, 2, 3]
    assert sum(isinstance(u, Job) for u in updates) == 2
    assert [c.request.after_sequence for c in scripted.scheduler.calls("WatchJob")] == [0, 2]


def test_watch_gives_up_after_reconnect_attempts(scripted: ScriptedServer) -> None:
    for _ in range(2):
        scripted.scheduler.script("WatchJob", Fail(grpc.StatusCode.UNAVAILABLE, "down"))
    with SchedulerClient(scripted.address, reconnect_attempts=1) as client, pytest.raises(Unavailable):
        list(client.watch("j1"))


def test_wait_streams_instead_of_polling(scripted: ScriptedServer) -> None:
    """The sync wait is the async one: one WatchJob stream, then one GetJob for the final job."""
    scripted.scheduler.script("WatchJob", snapshot(), event(1), event(2, "succeeded"))
    scripted.scheduler.script("GetJob", job_response("j1", JobState.SUCCEEDED))
    with SchedulerClient(scripted.address) as client:
        assert client.wait("j1", timeout=5).state == JobState.SUCCEEDED
    assert [c.method for c in scripted.scheduler.received] == ["WatchJob", "GetJob"]


def test_leaving_a_watch_early_ends_the_stream(scripted: ScriptedServer) -> None:
    scripted.scheduler.script("WatchJob", snapshot(), Hold())
    with SchedulerClient(scripted.address) as client:
        for update in client.watch("j1"):
            assert isinstance(update, Job)
            break
        [call] = scripted.scheduler.calls("WatchJob")
        wait_until(call.ended.is_set, message="the server still holds the abandoned stream")


def test_poll_backoff_sync(scripted: ScriptedServer) -> None:
    states = [JobState.QUEUED] * 3 + [JobState.RUNNING] * 3 + [JobState.FAILED]
    for state in states:
        scripted.scheduler.script("GetJob", job_response("j1", state))
    delays: list[float] = []

    async def record(seconds: float) -> None:
        delays.append(seconds)

    with SchedulerClient(scripted.address) as client:
        assert client.poll("j1", sleep=record, clock=lambda: 0.0).state == JobState.FAILED
    assert delays == pytest.approx([0.2, 0.3, 0.45, 0.675, 1.0125, 1.51875])


def test_sync_client_is_the_async_one() -> None:
    """Every public method of the async client has a blocking twin with the same parameters and docs."""
    skip = {"close", "with_api_key"}
    public = {n for n, m in inspect.getmembers(AsyncSchedulerClient) if not n.startswith("_") and callable(m)} - skip
    for name in public:
        twin = getattr(SchedulerClient, name)
        original = getattr(AsyncSchedulerClient, name)
        assert twin.__wrapped__ is original, name
        assert inspect.signature(twin) == inspect.signature(original), name


async def test_sync_client_against_real_scheduler(stack: Stack) -> None:
    # The scheduler runs on this event loop: blocking calls go to a thread so it keeps serving.
    def round_trip() -> tuple[Job, list[int]]:
        with SchedulerClient(stack.address, timeout=5.0) as client:
            job = client.submit_analysis(RESUME, JOB_DESCRIPTION)
            sequences = [u.sequence for u in client.watch(job.id) if isinstance(u, JobEvent)]
            return client.wait(job.id, timeout=10), sequences

    job, sequences = await asyncio.to_thread(round_trip)
    assert job.state == JobState.SUCCEEDED
    assert sequences == list(range(1, len(sequences) + 1))
