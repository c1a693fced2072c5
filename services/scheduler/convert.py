"""Domain <-> proto conversion for the scheduler API. The only module besides the servicers that knows both."""

from __future__ import annotations

from google.protobuf import duration_pb2, timestamp_pb2
from google.rpc import status_pb2
from skillbridge.scheduler.v1 import job_pb2, scheduler_service_pb2

from services.common import errors
from services.scheduler import core
from services.scheduler.model import (
    DEFAULT_THRESHOLD,
    CourseInput,
    EventKind,
    JobEvent,
    JobInput,
    JobRecord,
    JobState,
    JobType,
    JobView,
    NoopInput,
    QueueStatus,
    RankInput,
    ServiceState,
    Stage,
    StageState,
    stages_of,
)

NANOS_MAX = 999_999_999

JOB_TYPES = {
    job_pb2.JOB_TYPE_COURSE_RECOMMENDATION: JobType.COURSE_RECOMMENDATION,
    job_pb2.JOB_TYPE_NOOP: JobType.NOOP,
    job_pb2.JOB_TYPE_RANK_ANALYSES: JobType.RANK_ANALYSES,
}
JOB_TYPE_TO_PROTO = {v: k for k, v in JOB_TYPES.items()}
STATE_TO_PROTO = {s: job_pb2.JobState.Value(f"JOB_STATE_{s.value}") for s in JobState}
STATE_FROM_PROTO = {v: k for k, v in STATE_TO_PROTO.items()}
STAGE_TO_PROTO = {s: job_pb2.Stage.Value(f"STAGE_{s.value}") for s in Stage}
STAGE_STATE_TO_PROTO = {s: job_pb2.StageState.Value(f"STAGE_STATE_{s.value}") for s in StageState}
SERVICE_STATE_TO_PROTO = {
    s: scheduler_service_pb2.StageServiceState.Value(f"STAGE_SERVICE_STATE_{s.value}") for s in ServiceState
}


# The range a Timestamp may hold (0001-01-01 to 9999-12-31), as protobuf's own conversion checks it.
TIMESTAMP_SECONDS_MIN = -62_135_596_800
TIMESTAMP_SECONDS_MAX = 253_402_300_799


def set_timestamp(out: timestamp_pb2.Timestamp, seconds: float) -> None:
    """Sets `out` in place to what Timestamp.FromNanoseconds makes of these seconds. Done here, not there: the
    library's pure-Python conversion was a tenth of a batch submit's answer, and a message made apart and then
    copied in costs a copy more."""
    whole, nanos = divmod(int(seconds * 1e9), 1_000_000_000)
    if not TIMESTAMP_SECONDS_MIN <= whole <= TIMESTAMP_SECONDS_MAX:
        raise ValueError(
            f"Timestamp is not valid: seconds {whole} must be in range"
            f" [{TIMESTAMP_SECONDS_MIN}, {TIMESTAMP_SECONDS_MAX}]."
        )
    out.seconds, out.nanos = whole, nanos


def set_duration(out: duration_pb2.Duration, seconds: float) -> None:
    """Sets `out` in place to what Duration.FromNanoseconds makes of these seconds (nanos with the sign of
    seconds)."""
    whole, nanos = divmod(int(seconds * 1e9), 1_000_000_000)
    if whole < 0 and nanos > 0:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    out.seconds, out.nanos = whole, nanos


def timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    set_timestamp(ts, seconds)
    return ts


def duration(seconds: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    set_duration(d, seconds)
    return d


def job_input(request: scheduler_service_pb2.SubmitJobRequest) -> JobInput | None:
    """The input that was set, typed; core checks that it is the job type's."""
    which = request.WhichOneof("input")
    if which == "course_recommendation":
        cr = request.course_recommendation
        threshold = cr.threshold if cr.HasField("threshold") else DEFAULT_THRESHOLD  # absent, not 0, is the default
        return CourseInput(cr.resume_text, cr.job_description_text, threshold)
    if which == "noop":
        return NoopInput(request.noop.payload)
    if which == "rank_analyses":
        return RankInput()
    return None


def _timestamp_seconds(value: timestamp_pb2.Timestamp, field: str) -> float:
    """Seconds since the epoch; nanos outside 0..999,999,999 is a field error (protobuf's own conversion raises
    ValueError, which would answer INTERNAL). The range of seconds is core's rule."""
    if not 0 <= value.nanos <= NANOS_MAX:
        raise errors.InvalidArgument.for_field(f"{field}.nanos", "must be between 0 and 999999999")
    return value.seconds + value.nanos / 1e9


def _duration_seconds(value: duration_pb2.Duration, field: str) -> float:
    """Seconds; nanos outside ±999,999,999 or of the other sign than seconds is a field error."""
    if not -NANOS_MAX <= value.nanos <= NANOS_MAX or value.seconds * value.nanos < 0:
        raise errors.InvalidArgument.for_field(
            f"{field}.nanos", "must be between -999999999 and 999999999, with the sign of seconds"
        )
    return value.seconds + value.nanos / 1e9


def submission(request: scheduler_service_pb2.SubmitJobRequest) -> core.Submission:
    """A SubmitJobRequest in domain terms; validation happens in core."""
    return core.Submission(
        type=JOB_TYPES.get(request.type),
        input=job_input(request),
        priority=request.priority,
        request_id=request.request_id,
        not_before=_timestamp_seconds(request.not_before, "not_before") if request.HasField("not_before") else None,
        delay=_duration_seconds(request.delay, "delay") if request.HasField("delay") else None,
        depends_on=tuple(request.depends_on),
        skip_cache=request.skip_cache,
    )


def job(view: JobView) -> job_pb2.Job:
    out = job_pb2.Job()
    fill_job(out, view)
    return out


def fill_job(out: job_pb2.Job, view: JobView) -> None:
    """Writes the job into `out`, an empty Job (a field of the response being built: no copy of a finished Job
    into it afterwards). Scalars at their default and times that are not set are left alone: proto3 writes no
    default scalar, so the bytes are the same, and each set (or look at a message field) is a call into the
    protobuf runtime; most of them are empty for a job just submitted, and a SubmitJobs answer has 500 jobs."""
    record = view.job
    out.id = record.id
    out.owner = record.owner
    out.type = JOB_TYPE_TO_PROTO[record.type]
    out.state = STATE_TO_PROTO[record.state]
    if record.priority:
        out.priority = record.priority
    if record.request_id:
        out.request_id = record.request_id
    if view.position:
        out.position_in_queue = view.position
    set_duration(out.estimated_wait, view.estimated_wait)  # always present, if only as zero
    if record.current_stage:
        out.current_stage = STAGE_TO_PROTO[record.current_stage]
    progress = core.progress(record)
    if progress:
        out.progress = progress
    if record.attempt:
        out.attempt = record.attempt
    if record.last_sequence:
        out.last_sequence = record.last_sequence
    if record.depends_on:
        out.depends_on.extend(record.depends_on)
    if record.cached_from:
        out.cached_from_job_id = record.cached_from
    if record.waiting_for_service:
        out.waiting_for_service = record.waiting_for_service
    if record.not_before is not None:
        set_timestamp(out.not_before, record.not_before)
    if record.create_time is not None:
        set_timestamp(out.create_time, record.create_time)
    if record.start_time is not None:
        set_timestamp(out.start_time, record.start_time)
    if record.end_time is not None:
        set_timestamp(out.end_time, record.end_time)
    if record.expire_time is not None:
        set_timestamp(out.expire_time, record.expire_time)
    for stage in record.stages:
        status = out.stages.add(
            stage=STAGE_TO_PROTO[stage.stage],
            state=STAGE_STATE_TO_PROTO[stage.state],
            summary=stage.summary,
            progress=stage.progress,
        )
        if stage.metrics:
            status.metrics.update(stage.metrics)
        if stage.start_time is not None:
            set_timestamp(status.start_time, stage.start_time)
        if stage.end_time is not None:
            set_timestamp(status.end_time, stage.end_time)
        if stage.duration is not None:
            set_duration(status.duration, stage.duration)
    _set_input(out, record)
    _set_result(out, record)
    if record.error is not None:
        out.error.code = record.error.code
        out.error.message = record.error.message


def _set_input(out: job_pb2.Job, record: JobRecord) -> None:
    given = record.input
    if isinstance(given, CourseInput):
        out.course_recommendation.resume_text = given.resume_text
        out.course_recommendation.job_description_text = given.job_description_text
        out.course_recommendation.threshold = given.threshold
    elif isinstance(given, NoopInput):
        out.noop.payload = given.payload
    else:
        out.rank_analyses.SetInParent()


# The Job field each type's result goes in.
RESULT_FIELD = {
    JobType.COURSE_RECOMMENDATION: "course_recommendation_result",
    JobType.NOOP: "noop_result",
    JobType.RANK_ANALYSES: "rank_analyses_result",
}


def _set_result(out: job_pb2.Job, record: JobRecord) -> None:
    """The stored wire form goes into its field as it is (a merge of the bytes, no conversion)."""
    if record.result is None or record.state is not JobState.SUCCEEDED:
        return
    getattr(out, RESULT_FIELD[record.type]).MergeFromString(record.result)


def event(ev: JobEvent) -> job_pb2.JobEvent:
    out = job_pb2.JobEvent(job_id=ev.job_id, sequence=ev.sequence)
    out.time.CopyFrom(timestamp(ev.time))
    d = ev.data
    stage = STAGE_TO_PROTO[Stage(d["stage"])] if d.get("stage") else job_pb2.STAGE_UNSPECIFIED
    if ev.kind is EventKind.QUEUED:
        out.queued.position_in_queue = int(d.get("position", 0))
        out.queued.estimated_wait.CopyFrom(duration(float(d.get("estimated_wait", 0.0))))
    elif ev.kind is EventKind.STARTED:
        out.started.attempt = int(d["attempt"])
        out.started.worker = str(d.get("worker", ""))
    elif ev.kind is EventKind.STAGE_STARTED:
        out.stage_started.stage = stage
    elif ev.kind is EventKind.STAGE_PROGRESS:
        out.stage_progress.stage = stage
        out.stage_progress.fraction = float(d.get("fraction", 0.0))
        out.stage_progress.metrics.update(d.get("metrics", {}))
    elif ev.kind is EventKind.STAGE_FINISHED:
        out.stage_finished.stage = stage
        out.stage_finished.state = STAGE_STATE_TO_PROTO[StageState(d["state"])]
        out.stage_finished.duration.CopyFrom(duration(float(d.get("duration", 0.0))))
        out.stage_finished.summary = str(d.get("summary", ""))
        out.stage_finished.metrics.update(d.get("metrics", {}))
    elif ev.kind is EventKind.RETRIED:
        out.retried.attempt = int(d["attempt"])
        out.retried.reason = str(d.get("reason", ""))
    elif ev.kind is EventKind.SUCCEEDED:
        out.succeeded.duration.CopyFrom(duration(float(d.get("duration", 0.0))))
        out.succeeded.cached_from_job_id = str(d.get("cached_from_job_id", ""))
    elif ev.kind is EventKind.FAILED:
        out.failed.error.CopyFrom(status_pb2.Status(code=int(d["code"]), message=str(d.get("message", ""))))
        out.failed.stage = stage
    elif ev.kind is EventKind.CANCELLED:
        out.cancelled.reason = str(d.get("reason", ""))
        out.cancelled.stage = stage
    elif ev.kind is EventKind.SCHEDULED:
        out.scheduled.not_before.CopyFrom(timestamp(float(d["not_before"])))
    elif ev.kind is EventKind.WAITING:
        out.waiting.depends_on.extend(d.get("depends_on", []))
    elif ev.kind is EventKind.RELEASED:
        out.released.reason = str(d.get("reason", ""))
        out.released.position_in_queue = int(d.get("position", 0))
    elif ev.kind is EventKind.SERVICE_WAITING:
        out.service_waiting.stage = stage
        out.service_waiting.service = str(d.get("service", ""))
        out.service_waiting.reason = str(d.get("reason", ""))
        out.service_waiting.budget.CopyFrom(duration(float(d.get("budget", 0.0))))
    elif ev.kind is EventKind.SERVICE_RECOVERED:
        out.service_recovered.stage = stage
        out.service_recovered.service = str(d.get("service", ""))
        out.service_recovered.waited.CopyFrom(duration(float(d.get("waited", 0.0))))
    return out


def queue_status(status: QueueStatus) -> scheduler_service_pb2.GetQueueStatusResponse:
    counts = status.counts
    out = scheduler_service_pb2.GetQueueStatusResponse(
        queued=counts.by_state.get(JobState.QUEUED, 0),
        running=counts.by_state.get(JobState.RUNNING, 0),
        throughput_per_second=counts.finished_last_minute / 60.0,
        workers=status.workers,
        healthy=status.healthy,
        max_queue_depth=status.max_queue_depth,
    )
    for priority in sorted(counts.queued_by_priority, reverse=True):
        out.depth_by_priority.add(priority=priority, queued=counts.queued_by_priority[priority])
    for state in JobState:
        out.jobs_by_state[f"JOB_STATE_{state.value}"] = counts.by_state.get(state, 0)
    for stage in Stage:
        timing = status.timings.get(f"stage:{stage.value}")
        if timing:
            out.stage_timings.add(
                stage=STAGE_TO_PROTO[stage],
                mean=duration(timing.mean),
                p95=duration(timing.p95),
                p50=duration(timing.p50),
                samples=timing.samples,
            )
    for job_type in JobType:
        timing = status.timings.get(f"job:{job_type.value}")
        if timing:
            out.mean_job_duration[job_type.value].CopyFrom(duration(timing.mean))
    for view in status.stage_services:
        out.stage_services.add(
            service=view.service,
            stages=[STAGE_TO_PROTO[s] for s in stages_of(view.service)],
            state=SERVICE_STATE_TO_PROTO[view.state],
            since=timestamp(view.since),
            reason=view.reason,
            waiting_jobs=view.waiting_jobs,
        )
    quota, usage = status.quota, status.usage
    out.caller_quota.CopyFrom(
        scheduler_service_pb2.OwnerQuota(
            owner=status.owner,
            tier=quota.tier,
            max_priority=quota.max_priority,
            max_queued=quota.max_queued,
            max_running=quota.max_running,
            submit_rate=quota.submit_rate,
            submit_burst=quota.submit_burst,
            queued=usage.pending,
            running=usage.running,
        )
    )
    return out
