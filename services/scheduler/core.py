"""The scheduler's rules, as pure functions over JobRecord: validation, the state machine and progress
(the wait estimate is in estimates.py). No I/O and no grpc: the store persists what these functions decide."""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.common import errors
from services.scheduler.model import (
    INPUT_TYPES,
    STAGES_BY_TYPE,
    CourseInput,
    EventKind,
    JobError,
    JobInput,
    JobNotFound,
    JobRecord,
    JobState,
    JobType,
    NewEvent,
    NoopInput,
    Stage,
    StageRecord,
    StageState,
    StaleAttempt,
)

__all__ = ["JobNotFound", "StaleAttempt"]

# google.rpc.Code numbers, kept here so core needs no protobuf import.
CODE_CANCELLED = 1
CODE_UNKNOWN = 2
CODE_DEADLINE_EXCEEDED = 4
CODE_ABORTED = 10
CODE_INTERNAL = 13
CODE_UNAVAILABLE = 14


class JobAlreadyFinished(errors.FailedPrecondition):
    reason = "JOB_ALREADY_FINISHED"


class QueueFull(errors.ResourceExhausted):
    reason = "QUEUE_FULL"


@dataclass(frozen=True)
class Limits:
    """The submit-time limits, taken from settings."""

    max_text_bytes: int
    max_priority: int
    max_payload_bytes: int = 1024 * 1024
    max_request_id_chars: int = 128
    max_delay_seconds: float = 30 * 24 * 3600.0
    max_dependencies: int = 100


@dataclass  # not frozen: built for every job of a batch submit (see model.py's docstring)
class Submission:
    """A validated-to-be job request, as the servicer hands it to the scheduler."""

    type: JobType | None
    input: JobInput | None
    priority: int = 0
    request_id: str = ""
    not_before: float | None = None  # absolute time, seconds since the epoch
    delay: float | None = None  # seconds after submit
    depends_on: tuple[str, ...] = ()
    # Run even when an identical analysis of the owner already succeeded.
    skip_cache: bool = False
    # The key of the analysis's result in the cache (set by the scheduler from the inputs and versions).
    cache_key: str = ""


# A per-process counter keeps ids submitted in the same millisecond in submission order.
_id_counter = itertools.count()
# The random part of ids, drawn from os.urandom this many ids at a time (one system call each, not one an id).
_RANDOM_IDS_PER_DRAW = 1024
_random_parts: list[str] = []
# A forked child must not hand out the parent's undrawn parts again.
os.register_at_fork(after_in_child=_random_parts.clear)


def new_job_id(now: float | None = None) -> str:
    """A time-ordered id: 12 hex digits of milliseconds, 4 of a per-process counter, 6 random."""
    millis = int((time.time() if now is None else now) * 1000)
    if not _random_parts:
        drawn = os.urandom(3 * _RANDOM_IDS_PER_DRAW).hex()
        _random_parts.extend(drawn[i : i + 6] for i in range(0, len(drawn), 6))
    return f"{millis:012x}{next(_id_counter) % 0x10000:04x}{_random_parts.pop()}"


def validate_submission(sub: Submission, limits: Limits) -> None:
    """Raises InvalidArgument listing every bad field of the submission."""
    bad: list[errors.FieldViolation] = []
    job_input = sub.input
    if sub.type is None:
        bad.append(errors.FieldViolation("type", "job type is required: COURSE_RECOMMENDATION or NOOP"))
    elif job_input is not None and not isinstance(job_input, INPUT_TYPES[sub.type]):
        bad.append(errors.FieldViolation("type", "does not match the input that was set"))
    elif isinstance(job_input, CourseInput):
        for name, text in (
            ("resume_text", job_input.resume_text),
            ("job_description_text", job_input.job_description_text),
        ):
            path = f"course_recommendation.{name}"
            size = len(text.encode("utf-8"))
            if not text.strip():
                bad.append(errors.FieldViolation(path, "must not be empty"))
            elif size > limits.max_text_bytes:
                bad.append(errors.FieldViolation(path, f"is {size} bytes; the limit is {limits.max_text_bytes}"))
        threshold = job_input.threshold
        if math.isnan(threshold) or not 0.0 <= threshold <= 1.0:
            bad.append(errors.FieldViolation("course_recommendation.threshold", "must be between 0 and 1"))
    elif sub.type is JobType.COURSE_RECOMMENDATION:
        bad.append(errors.FieldViolation("course_recommendation", "is required for a COURSE_RECOMMENDATION job"))
    elif isinstance(job_input, NoopInput) and len(job_input.payload) > limits.max_payload_bytes:
        bad.append(errors.FieldViolation("noop.payload", f"is over {limits.max_payload_bytes} bytes"))
    if not 0 <= sub.priority <= limits.max_priority:
        bad.append(errors.FieldViolation("priority", f"must be between 0 and {limits.max_priority}"))
    bad.extend(_schedule_violations(sub, limits))
    if len(sub.request_id) > limits.max_request_id_chars:
        bad.append(errors.FieldViolation("request_id", f"must be at most {limits.max_request_id_chars} chars"))
    if bad:
        raise errors.InvalidArgument("; ".join(f"{v.field} {v.description}" for v in bad), bad)


def _schedule_violations(sub: Submission, limits: Limits) -> list[errors.FieldViolation]:
    bad: list[errors.FieldViolation] = []
    if sub.not_before is not None and sub.delay is not None:
        bad.append(errors.FieldViolation("delay", "give not_before or delay, not both"))
    if sub.delay is not None and not 0 <= sub.delay <= limits.max_delay_seconds:
        bad.append(errors.FieldViolation("delay", f"must be between 0 and {limits.max_delay_seconds:g} seconds"))
    if sub.not_before is not None and sub.not_before - time.time() > limits.max_delay_seconds:
        bad.append(errors.FieldViolation("not_before", f"must be within {limits.max_delay_seconds:g} seconds"))
    if len(sub.depends_on) > limits.max_dependencies:
        bad.append(errors.FieldViolation("depends_on", f"at most {limits.max_dependencies} jobs"))
    seen: set[str] = set()
    for i, dep in enumerate(sub.depends_on):
        if not dep.strip():
            bad.append(errors.FieldViolation(f"depends_on[{i}]", "must not be empty"))
        elif dep in seen:
            bad.append(errors.FieldViolation(f"depends_on[{i}]", f"{dep} is listed twice"))
        seen.add(dep)
    if sub.type is JobType.RANK_ANALYSES and not sub.depends_on:
        bad.append(errors.FieldViolation("depends_on", "a rank-analyses job ranks the jobs it depends on: list them"))
    return bad


def noop_input(payload: bytes) -> NoopInput:
    return NoopInput(payload)


def new_job(sub: Submission, owner: str, now: float) -> tuple[JobRecord, NewEvent]:
    """A QUEUED job for a valid submission, and its first event (position filled in by the store)."""
    return new_record(sub, owner, now), NewEvent(EventKind.QUEUED, {})


def new_record(sub: Submission, owner: str, now: float) -> JobRecord:
    """A QUEUED job for a valid submission (admission builds its events once it knows where the job goes)."""
    assert sub.type is not None
    job_input = sub.input if sub.input is not None else INPUT_TYPES[sub.type]()
    return JobRecord(
        id=new_job_id(now),
        owner=owner,
        type=sub.type,
        state=JobState.QUEUED,
        priority=sub.priority,
        input=job_input,
        create_time=now,
        request_id=sub.request_id,
        stages=[StageRecord(stage=s) for s in STAGES_BY_TYPE[sub.type]],
        not_before=sub.not_before if sub.delay is None else now + sub.delay,
        depends_on=list(sub.depends_on),
        cache_key=sub.cache_key,
    )


# --- admission: queued now, later (SCHEDULED), or after other jobs (WAITING) --------------------------------


def check_dependencies(job: JobRecord, deps: dict[str, JobRecord | None]) -> None:
    """At submit: every dependency must be an existing job of the same owner that has not already failed.
    (A new job cannot be named by an earlier one, so dependencies can never form a cycle.)"""
    bad = []
    for i, dep_id in enumerate(job.depends_on):
        dep = deps.get(dep_id)
        if dep is None or dep.owner != job.owner:
            bad.append(errors.FieldViolation(f"depends_on[{i}]", f"no job {dep_id} of yours"))
        elif job.type is JobType.RANK_ANALYSES and dep.type is not JobType.COURSE_RECOMMENDATION:
            bad.append(errors.FieldViolation(f"depends_on[{i}]", f"{dep_id} is not a course-recommendation job"))
    if bad:
        raise errors.InvalidArgument("; ".join(f"{v.field}: {v.description}" for v in bad), bad)
    for dep_id in job.depends_on:
        dep = deps[dep_id]
        assert dep is not None
        if dep.state in (JobState.FAILED, JobState.CANCELLED):
            raise errors.FailedPrecondition(f"dependency {dep_id} already ended {dep.state.value}")


def admit(job: JobRecord, deps: dict[str, JobRecord | None], now: float, ttl: float) -> list[NewEvent]:
    """Decides where a new or released job goes. SCHEDULED while not_before is ahead; then WAITING while a
    dependency is unfinished; then QUEUED (returns [] - the store adds the queued event with the position);
    CANCELLED when a dependency failed or was cancelled."""
    if job.not_before is not None and job.not_before > now:
        job.state = JobState.SCHEDULED
        return [NewEvent(EventKind.SCHEDULED, {"not_before": job.not_before})]
    blocking = [d for d in job.depends_on if (dep := deps.get(d)) is None or dep.state is not JobState.SUCCEEDED]
    broken = [d for d in blocking if (dep := deps.get(d)) is None or dep.state.terminal]
    if broken:
        dep = deps.get(broken[0])
        how = "was deleted" if dep is None else f"ended {dep.state.value}"
        job.state = JobState.WAITING  # cancel() requires a live state
        return cancel(job, f"dependency {broken[0]} {how}", now, ttl)
    if blocking:
        if job.state is JobState.WAITING:
            return []
        job.state = JobState.WAITING
        return [NewEvent(EventKind.WAITING, {"depends_on": list(blocking)})]
    job.state = JobState.QUEUED
    return []


def released_event(reason: str, position: int) -> NewEvent:
    return NewEvent(EventKind.RELEASED, {"reason": reason, "position": position})


# --- the state machine -------------------------------------------------------------------------------------


def _require(job: JobRecord, *states: JobState) -> None:
    if job.state not in states:
        raise JobAlreadyFinished(f"job {job.id} is {job.state.value}, not {' or '.join(s.value for s in states)}")


def start_attempt(job: JobRecord, worker: str, now: float, lease_until: float) -> list[NewEvent]:
    """QUEUED -> RUNNING: a new attempt with a new fencing token."""
    _require(job, JobState.QUEUED)
    job.state = JobState.RUNNING
    job.attempt += 1
    job.fence += 1
    job.start_time = now
    job.lease_owner = worker
    job.lease_until = lease_until
    for record in job.stages:
        record.state, record.start_time, record.end_time, record.progress = StageState.PENDING, None, None, 0
    job.current_stage = None
    job.waiting_for_service = ""
    return [NewEvent(EventKind.STARTED, {"attempt": job.attempt, "worker": worker})]


def starter(worker: str, now: float, lease_seconds: float) -> Callable[[JobRecord], list[NewEvent]]:
    """The change that starts a claimed job's attempt, as a store's claim() takes it."""
    return lambda job: start_attempt(job, worker, now, now + lease_seconds)


def _stage(job: JobRecord, stage: Stage) -> StageRecord:
    for record in job.stages:
        if record.stage is stage:
            return record
    raise errors.InvalidArgument.for_field("stage", f"{stage.value} is not a stage of {job.type.value} jobs")


def start_stage(job: JobRecord, stage: Stage, now: float) -> list[NewEvent]:
    _require(job, JobState.RUNNING)
    record = _stage(job, stage)
    record.state, record.start_time, record.progress = StageState.RUNNING, now, 0.0
    job.current_stage = stage
    return [NewEvent(EventKind.STAGE_STARTED, {"stage": stage.value})]


def report_progress(job: JobRecord, stage: Stage, fraction: float, metrics: dict[str, float]) -> list[NewEvent]:
    _require(job, JobState.RUNNING)
    record = _stage(job, stage)
    record.progress = min(max(fraction, 0.0), 1.0)
    record.metrics.update(metrics)
    data = {"stage": stage.value, "fraction": record.progress, "metrics": dict(metrics)}
    return [NewEvent(EventKind.STAGE_PROGRESS, data)]


def finish_stage(
    job: JobRecord,
    stage: Stage,
    now: float,
    summary: str,
    metrics: dict[str, float],
    service_seconds: float | None = None,
) -> list[NewEvent]:
    """The stage's end. `service_seconds`: what the call took its service, its wait behind other calls taken out
    (see JobContext.stage), kept for the wait estimate's pace of a full queue."""
    _require(job, JobState.RUNNING)
    record = _stage(job, stage)
    record.state, record.end_time, record.progress = StageState.SUCCEEDED, now, 1.0
    record.summary = summary
    record.metrics.update(metrics)
    data = {
        "stage": stage.value,
        "state": StageState.SUCCEEDED.value,
        "duration": record.duration or 0.0,
        "summary": summary,
        "metrics": dict(record.metrics),
    }
    timings = [(f"stage:{stage.value}", record.duration or 0.0)]
    if service_seconds is not None:
        timings.append((f"service:{stage.value}", service_seconds))
    return [NewEvent(EventKind.STAGE_FINISHED, data, timings=tuple(timings))]


def _close_running_stage(job: JobRecord, state: StageState, now: float) -> list[NewEvent]:
    for record in job.stages:
        if record.state is StageState.RUNNING:
            record.state, record.end_time = state, now
            data = {
                "stage": record.stage.value,
                "state": state.value,
                "duration": record.duration or 0.0,
                "summary": record.summary,
                "metrics": dict(record.metrics),
            }
            return [NewEvent(EventKind.STAGE_FINISHED, data)]
    return []


def _end(job: JobRecord, state: JobState, now: float, ttl: float) -> None:
    job.state = state
    job.end_time = now
    job.expire_time = now + ttl
    job.lease_owner, job.lease_until = "", None
    job.waiting_for_service = ""


def succeed(job: JobRecord, result: bytes, now: float, ttl: float) -> list[NewEvent]:
    _require(job, JobState.RUNNING)
    job.result = result
    duration = now - (job.start_time or now)
    _end(job, JobState.SUCCEEDED, now, ttl)
    return [NewEvent(EventKind.SUCCEEDED, {"duration": duration}, timings=((f"job:{job.type.value}", duration),))]


def reuse(job: JobRecord, cached: JobRecord, now: float, ttl: float) -> list[NewEvent]:
    """A new job answered at once with the result of an identical finished one: SUCCEEDED, its stages as they
    ran there, marked as cached."""
    job.result = cached.result
    job.cached_from = cached.id
    job.stages = [
        StageRecord(r.stage, r.state, r.start_time, r.end_time, r.summary, dict(r.metrics), r.progress)
        for r in cached.stages
    ]
    job.start_time = now
    _end(job, JobState.SUCCEEDED, now, ttl)
    return [NewEvent(EventKind.SUCCEEDED, {"duration": 0.0, "cached_from_job_id": cached.id})]


def fail(job: JobRecord, error: JobError, now: float, ttl: float) -> list[NewEvent]:
    _require(job, JobState.RUNNING, JobState.QUEUED)
    events = _close_running_stage(job, StageState.FAILED, now)
    job.error = error
    _end(job, JobState.FAILED, now, ttl)
    data = {"code": error.code, "message": error.message, "stage": error.stage.value if error.stage else ""}
    return [*events, NewEvent(EventKind.FAILED, data)]


def cancel(job: JobRecord, reason: str, now: float, ttl: float) -> list[NewEvent]:
    """QUEUED, SCHEDULED, WAITING or RUNNING -> CANCELLED. The fence moves on, so a running worker's later
    writes are rejected."""
    _require(job, JobState.QUEUED, JobState.RUNNING, JobState.SCHEDULED, JobState.WAITING)
    running_stage = job.current_stage if job.state is JobState.RUNNING else None
    events = _close_running_stage(job, StageState.CANCELLED, now)
    for record in job.stages:
        if record.state is StageState.PENDING:
            record.state = StageState.CANCELLED
    job.fence += 1
    job.error = JobError(code=CODE_CANCELLED, message=reason or "cancelled", stage=running_stage)
    _end(job, JobState.CANCELLED, now, ttl)
    data = {"reason": reason, "stage": running_stage.value if running_stage else ""}
    return [*events, NewEvent(EventKind.CANCELLED, data)]


def requeue(job: JobRecord, reason: str, max_attempts: int, now: float, ttl: float) -> list[NewEvent]:
    """An attempt was lost (its worker died or its lease ran out): back to the queue, or FAILED after the last."""
    _require(job, JobState.RUNNING)
    if job.attempt >= max_attempts:
        message = f"gave up after {job.attempt} attempts: {reason}"
        return fail(job, JobError(code=CODE_ABORTED, message=message, reason="ATTEMPTS_EXHAUSTED"), now, ttl)
    events = _close_running_stage(job, StageState.FAILED, now)
    job.state = JobState.QUEUED
    job.fence += 1
    job.lease_owner, job.lease_until, job.start_time = "", None, None
    job.waiting_for_service = ""
    return [*events, NewEvent(EventKind.RETRIED, {"attempt": job.attempt, "reason": reason})]


# --- derived figures ---------------------------------------------------------------------------------------


def progress(job: JobRecord) -> float:
    """Overall progress in [0, 1]: finished stages count whole, the running stage by its own progress."""
    if job.state is JobState.SUCCEEDED:
        return 1.0
    if not job.stages:
        return 0.0
    done = sum(1.0 if r.state is StageState.SUCCEEDED else r.progress for r in job.stages)
    return round(done / len(job.stages), 4)
