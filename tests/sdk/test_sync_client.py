"""SchedulerClient: wire behaviour checked with grpc_testing (requests, metadata, deadlines, rich errors,
watch reconnect), and one round trip against a real scheduler."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

import grpc
import grpc_testing
import pytest
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge_client import InvalidRequest, NotFound, QuotaExceeded, SchedulerClient, Unavailable

from tests.sdk.harness import JOB_DESCRIPTION, RESUME, Stack
from tests.support import wait_until

SERVICE = pb.DESCRIPTOR.services_by_name["JobSchedulerService"]
T = TypeVar("T")


@pytest.fixture
def channel() -> Any:
    return grpc_testing.channel([SERVICE], grpc_testing.strict_real_time())


@pytest.fixture
def pool() -> Iterator[None]:
    yield None


def in_background(pool: None, fn: Callable[[], T]) -> Future[T]:
    """Runs the client call on a daemon thread, so a failing test never hangs waiting for it."""
    future: Future[T] = Future()

    def target() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=target, daemon=True).start()
    return future


def test_get_sends_key_and_deadline(channel: Any, pool: None) -> None:
    client = SchedulerClient(channel=channel, api_key="secret", timeout=3.0)
    future = in_background(pool, lambda: client.get("j1"))
    metadata, request, rpc = channel.take_unary_unary(SERVICE.methods_by_name["GetJob"])
    assert request.job_id == "j1"
    assert ("authorization", "Bearer secret") in metadata
    response = pb.GetJobResponse(job=job_pb2.Job(id="j1", state=job_pb2.JOB_STATE_RUNNING))
    rpc.terminate(response, (), grpc.StatusCode.OK, "")
    assert future.result(timeout=5).state == job_pb2.JOB_STATE_RUNNING


def test_rich_errors_become_typed(channel: Any, pool: None) -> None:
    client = SchedulerClient(channel=channel)
    bad = error_details_pb2.BadRequest()
    bad.field_violations.add(field="course_recommendation.resume_text", description="must not be empty")
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message="invalid job")
    status.details.add().Pack(bad)
    converted = rpc_status.to_status(status)
    future = in_background(pool, lambda: client.submit_analysis("", "jd"))
    _, request, rpc = channel.take_unary_unary(SERVICE.methods_by_name["SubmitJob"])
    assert request.type == job_pb2.JOB_TYPE_COURSE_RECOMMENDATION and request.course_recommendation.threshold == 0.5
    rpc.terminate(None, converted.trailing_metadata, converted.code, converted.details)
    with pytest.raises(InvalidRequest) as info:
        future.result(timeout=5)
    assert info.value.field_violations[0].field == "course_recommendation.resume_text"

    quota = status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message="queue full")
    delay = duration_pb2.Duration(seconds=2, nanos=500_000_000)
    quota.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    converted = rpc_status.to_status(quota)
    future = in_background(pool, lambda: client.submit_noop(b""))
    _, _, rpc = channel.take_unary_unary(SERVICE.methods_by_name["SubmitJob"])
    rpc.terminate(None, converted.trailing_metadata, converted.code, converted.details)
    with pytest.raises(QuotaExceeded) as quota_info:
        future.result(timeout=5)
    assert quota_info.value.retry_after == pytest.approx(2.5)

    future2 = in_background(pool, lambda: client.cancel("gone"))
    _, _, rpc = channel.take_unary_unary(SERVICE.methods_by_name["CancelJob"])
    rpc.terminate(None, (), grpc.StatusCode.NOT_FOUND, "job gone not found")
    with pytest.raises(NotFound, match="job gone not found"):
        future2.result(timeout=5)


def _event(sequence: int, kind: str = "stage_started") -> pb.WatchJobResponse:
    event = job_pb2.JobEvent(job_id="j1", sequence=sequence)
    if kind == "succeeded":
        event.succeeded.SetInParent()
    else:
        event.stage_started.stage = job_pb2.STAGE_ENTITY_RECOGNITION
    return pb.WatchJobResponse(event=event)


def test_watch_reconnects_after_unavailable(channel: Any, pool: None) -> None:
    client = SchedulerClient(channel=channel)
    updates: list[job_pb2.Job | job_pb2.JobEvent] = []
    future = in_background(pool, lambda: updates.extend(client.watch("j1")))
    method = SERVICE.methods_by_name["WatchJob"]
    _, request, rpc = channel.take_unary_stream(method)
    assert request.after_sequence == 0
    rpc.send_response(pb.WatchJobResponse(snapshot=job_pb2.Job(id="j1", state=job_pb2.JOB_STATE_RUNNING)))
    rpc.send_response(_event(1))
    rpc.send_response(_event(2))
    # grpc_testing drops unread responses once an error status is set: let the client read them first.
    wait_until(lambda: len(updates) == 3)
    rpc.terminate((), grpc.StatusCode.UNAVAILABLE, "server going away")
    _, request, rpc = channel.take_unary_stream(method)
    assert request.after_sequence == 2
    rpc.send_response(pb.WatchJobResponse(snapshot=job_pb2.Job(id="j1", state=job_pb2.JOB_STATE_RUNNING)))
    rpc.send_response(_event(2))  # a replayed event the client already has
    rpc.send_response(_event(3, "succeeded"))
    rpc.terminate((), grpc.StatusCode.OK, "")
    future.result(timeout=10)
    sequences = [u.sequence for u in updates if isinstance(u, job_pb2.JobEvent)]
    assert sequences == [1, 2, 3]
    assert sum(isinstance(u, job_pb2.Job) for u in updates) == 2


def test_watch_gives_up_after_reconnect_attempts(channel: Any, pool: None) -> None:
    client = SchedulerClient(channel=channel, reconnect_attempts=1)
    future = in_background(pool, lambda: list(client.watch("j1")))
    for _ in range(2):
        _, _, rpc = channel.take_unary_stream(SERVICE.methods_by_name["WatchJob"])
        rpc.terminate((), grpc.StatusCode.UNAVAILABLE, "down")
    with pytest.raises(Unavailable):
        future.result(timeout=10)


def test_poll_backoff_sync(channel: Any, pool: None) -> None:
    client = SchedulerClient(channel=channel)
    delays: list[float] = []
    future = in_background(pool, lambda: client.poll("j1", sleep=delays.append, clock=lambda: 0.0))
    states = [job_pb2.JOB_STATE_QUEUED] * 3 + [job_pb2.JOB_STATE_RUNNING] * 3 + [job_pb2.JOB_STATE_FAILED]
    for state in states:
        _, _, rpc = channel.take_unary_unary(SERVICE.methods_by_name["GetJob"])
        rpc.terminate(pb.GetJobResponse(job=job_pb2.Job(id="j1", state=state)), (), grpc.StatusCode.OK, "")
    assert future.result(timeout=5).state == job_pb2.JOB_STATE_FAILED
    assert delays == pytest.approx([0.2, 0.3, 0.45, 0.675, 1.0125, 1.51875])


async def test_sync_client_against_real_scheduler(stack: Stack) -> None:
    # The scheduler runs on this event loop: blocking calls go to a thread so it keeps serving.
    def round_trip() -> tuple[job_pb2.Job, list[int]]:
        with SchedulerClient(stack.address, timeout=5.0) as client:
            job = client.submit_analysis(RESUME, JOB_DESCRIPTION)
            sequences = [u.sequence for u in client.watch(job.id) if isinstance(u, job_pb2.JobEvent)]
            return client.wait(job.id, timeout=10), sequences

    job, sequences = await asyncio.to_thread(round_trip)
    assert job.state == job_pb2.JOB_STATE_SUCCEEDED
    assert sequences == list(range(1, len(sequences) + 1))
