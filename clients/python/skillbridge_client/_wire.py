"""What the client sends and how it reads answers: request builders, call metadata, gRPC error conversion and
the bookkeeping that lets a watch resume from the last event it saw."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb

from skillbridge_client.errors import FieldViolation, SkillBridgeError, from_status
from skillbridge_client.models import Job, JobRequest, Update

log = logging.getLogger(__name__)

Metadata = tuple[tuple[str, str], ...]
StreamResponse = pb.WatchJobResponse | pb.SubmitAndWatchJobResponse

TERMINAL_STATES = frozenset({job_pb2.JOB_STATE_SUCCEEDED, job_pb2.JOB_STATE_FAILED, job_pb2.JOB_STATE_CANCELLED})
TERMINAL_EVENTS = frozenset({"succeeded", "failed", "cancelled"})
# Same limit as the servers: large enough for a 10 MB resume to reach validation and get a clear answer.
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
]


def is_terminal(job: Job) -> bool:
    """True when the job has ended (succeeded, failed or cancelled)."""
    return job.state in TERMINAL_STATES


def metadata(api_key: str | None, traceparent: str | None = None) -> Metadata:
    """Call metadata: the caller's key, and the W3C trace context the call belongs to."""
    pairs: list[tuple[str, str]] = []
    if api_key:
        pairs.append(("authorization", f"Bearer {api_key}"))
    if traceparent:
        pairs.append(("traceparent", traceparent))
    return tuple(pairs)


def analysis_job(
    resume_text: str,
    job_description_text: str,
    *,
    threshold: float = 0.5,
    priority: int = 0,
    request_id: str | None = None,
    delay: float | None = None,
    depends_on: Sequence[str] = (),
    skip_cache: bool = False,
) -> JobRequest:
    """A course-recommendation job to submit (alone, in a batch, or with submit_and_watch): `threshold` in [0, 1]
    is how strict skill matching is; `delay` (seconds) holds it back; `depends_on` jobs must succeed first;
    `skip_cache` runs it even when an identical analysis already succeeded."""
    request = pb.SubmitJobRequest(
        type=job_pb2.JOB_TYPE_COURSE_RECOMMENDATION,
        course_recommendation=job_pb2.CourseRecommendationInput(
            resume_text=resume_text, job_description_text=job_description_text, threshold=threshold
        ),
        priority=priority,
        request_id=request_id or "",
        skip_cache=skip_cache,
    )
    return _scheduled(request, delay, depends_on)


def noop_job(
    payload: bytes = b"",
    *,
    priority: int = 0,
    request_id: str | None = None,
    delay: float | None = None,
    depends_on: Sequence[str] = (),
) -> JobRequest:
    """A job with no stages, whose result is `payload` (for checking a deployment end to end)."""
    request = pb.SubmitJobRequest(
        type=job_pb2.JOB_TYPE_NOOP,
        noop=job_pb2.NoopInput(payload=payload),
        priority=priority,
        request_id=request_id or "",
    )
    return _scheduled(request, delay, depends_on)


def _scheduled(request: JobRequest, delay: float | None, depends_on: Sequence[str]) -> JobRequest:
    if delay is not None:
        request.delay.FromNanoseconds(int(delay * 1e9))
    request.depends_on.extend(depends_on)
    return request


def list_request(states: Iterable[int], page_size: int, page_token: str) -> pb.ListJobsRequest:
    return pb.ListJobsRequest(
        states=[job_pb2.JobState.ValueType(s) for s in states], page_size=page_size, page_token=page_token
    )


def convert_error(err: grpc.RpcError) -> SkillBridgeError:
    """Turns a failed call into the SDK's typed error, reading google.rpc details from the trailers."""
    code_obj = err.code() if isinstance(err, grpc.Call) or hasattr(err, "code") else None
    code = code_obj.name if isinstance(code_obj, grpc.StatusCode) else "UNKNOWN"
    message = str(err.details() if hasattr(err, "details") else err) or code
    violations: list[FieldViolation] = []
    retry_after: float | None = None
    reason: str | None = None
    status = None
    try:
        status = rpc_status.from_call(err)  # type: ignore[arg-type]
    except (ValueError, AttributeError, TypeError):
        log.debug("status details unreadable for %s", code)
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations.extend(FieldViolation(v.field, v.description) for v in bad.field_violations)
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                info = error_details_pb2.RetryInfo()
                detail.Unpack(info)
                retry_after = info.retry_delay.seconds + info.retry_delay.nanos / 1e9
            elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                error_info = error_details_pb2.ErrorInfo()
                detail.Unpack(error_info)
                reason = error_info.reason or None
    return from_status(code, message, field_violations=tuple(violations), retry_after=retry_after, reason=reason)


class WatchCursor:
    """Remembers the last event sequence seen so a reconnect resumes after it and never repeats an event."""

    def __init__(self, after_sequence: int = 0) -> None:
        self.last = max(after_sequence, 0)
        self.done = False
        self.snapshot: Job | None = None

    @property
    def job_id(self) -> str:
        """The job's id once a snapshot has been seen ("" before)."""
        return self.snapshot.id if self.snapshot is not None else ""

    def accept(self, response: StreamResponse) -> Update | None:
        """The update to hand to the caller, or None for an event already delivered."""
        if response.WhichOneof("update") == "snapshot":
            self.snapshot = response.snapshot
            return response.snapshot
        event = response.event
        if event.sequence <= self.last:
            return None
        self.last = event.sequence
        if event.WhichOneof("kind") in TERMINAL_EVENTS:
            self.done = True
        return event

    def finished_cleanly(self) -> bool:
        """After a stream ended without error: true when nothing more can come (the job had already ended)."""
        if self.done:
            return True
        snap = self.snapshot
        return snap is not None and is_terminal(snap) and self.last >= snap.last_sequence


def next_delay(delay: float, factor: float, max_delay: float) -> float:
    return min(delay * factor, max_delay)
