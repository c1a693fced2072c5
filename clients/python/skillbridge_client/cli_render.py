"""Terminal output of the CLI: live progress lines from WatchJob updates and the readable report."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from google.protobuf import json_format
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb

from skillbridge_client._wire import Update


def label(enum_name: str) -> str:
    """STAGE_SIMILARITY_ANALYSIS -> "similarity analysis"."""
    for prefix in ("STAGE_STATE_", "STAGE_", "JOB_STATE_", "JOB_TYPE_"):
        if enum_name.startswith(prefix):
            enum_name = enum_name[len(prefix) :]
            break
    return enum_name.lower().replace("_", " ")


def _seconds(duration: object) -> float:
    return float(getattr(duration, "seconds", 0) + getattr(duration, "nanos", 0) / 1e9)


class ProgressPrinter:
    """Prints one line per thing that happens to a job (queue position, each stage start and end)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stderr
        self.started = time.monotonic()
        self._position: int | None = None

    def _line(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {text}", file=self.out, flush=True)

    def update(self, update: Update) -> None:
        if isinstance(update, job_pb2.Job):
            if update.state == job_pb2.JOB_STATE_QUEUED and update.position_in_queue != self._position:
                self._position = update.position_in_queue
                wait = _seconds(update.estimated_wait)
                self._line(f"queued at position {update.position_in_queue}, about {wait:.0f} s wait")
            return
        kind = update.WhichOneof("kind")
        if kind == "queued":
            self._position = update.queued.position_in_queue
            self._line(
                f"queued at position {self._position}, about {_seconds(update.queued.estimated_wait):.0f} s wait"
            )
        elif kind == "started":
            self._line(f"started (attempt {update.started.attempt})")
        elif kind == "stage_started":
            self._line(f"{label(job_pb2.Stage.Name(update.stage_started.stage))} ... running")
        elif kind == "stage_progress":
            p = update.stage_progress
            self._line(f"{label(job_pb2.Stage.Name(p.stage))} ... {p.fraction:.0%}")
        elif kind == "stage_finished":
            f = update.stage_finished
            state = label(job_pb2.StageState.Name(f.state))
            name = label(job_pb2.Stage.Name(f.stage))
            self._line(f"{name} ... {state} in {_seconds(f.duration):.2f} s  {f.summary}".rstrip())
        elif kind == "scheduled":
            start = time.strftime("%H:%M:%S", time.localtime(update.scheduled.not_before.seconds))
            self._line(f"scheduled: starts at {start}")
        elif kind == "waiting":
            self._line(f"waiting for {', '.join(update.waiting.depends_on)} to succeed")
        elif kind == "released":
            r = update.released
            self._line(f"released ({r.reason}): queued at position {r.position_in_queue}")
        elif kind == "retried":
            self._line(f"attempt {update.retried.attempt} abandoned ({update.retried.reason}); queued again")
        elif kind == "succeeded":
            self._line("succeeded")
        elif kind == "failed":
            self._line(f"failed: {update.failed.error.message}")
        elif kind == "cancelled":
            self._line(f"cancelled {update.cancelled.reason}".rstrip())


def job_json(job: job_pb2.Job) -> str:
    return json_format.MessageToJson(job, preserving_proto_field_name=True, indent=2)


def report(job: job_pb2.Job) -> str:
    """The readable report of a finished job."""
    lines = [f"Job {job.id}: {label(job_pb2.JobState.Name(job.state))}"]
    if job.state == job_pb2.JOB_STATE_FAILED or job.state == job_pb2.JOB_STATE_CANCELLED:
        if job.error.message:
            lines.append(f"Reason: {job.error.message}")
        return "\n".join(lines)
    if job.WhichOneof("result") != "course_recommendation_result":
        return "\n".join(lines)
    result = job.course_recommendation_result
    details = result.matching_details
    matched = [m.job_skill for m in details.matches]
    lines += [
        f"Match score: {details.overall_score:.0%} (threshold {details.threshold:.2f})",
        f"Matched skills ({len(matched)}): {', '.join(matched) or 'none'}",
        f"Missing skills ({len(result.skill_gap)}): {', '.join(result.skill_gap) or 'none'}",
    ]
    if result.recommendations_text:
        lines += ["", result.recommendations_text]
    lines += ["", "Recommended courses:"]
    for number, rec in enumerate(result.recommended_courses, start=1):
        course = rec.course
        meta = ", ".join(
            x
            for x in (course.provider, course.level, f"{course.duration_hours} h" if course.duration_hours else "")
            if x
        )
        lines.append(f"{number}. {course.title}" + (f" ({meta})" if meta else ""))
        if rec.rationale:
            lines.append(f"   why: {rec.rationale}")
        lines.append(f"   potential score {rec.potential_score:.0%} (+{rec.score_improvement * 100:.0f} points)")
        if course.url:
            lines.append(f"   {course.url}")
    if not result.recommended_courses:
        lines.append("   none needed")
    return "\n".join(lines)


def status_text(job: job_pb2.Job) -> str:
    """`skillbridge status`: state, queue place, progress and each stage."""
    lines = [
        f"Job {job.id} ({label(job_pb2.JobType.Name(job.type))}): {label(job_pb2.JobState.Name(job.state))}",
        f"progress {job.progress:.0%}, attempt {job.attempt}, last event {job.last_sequence}",
    ]
    if job.state == job_pb2.JOB_STATE_QUEUED:
        lines.append(f"position {job.position_in_queue}, about {_seconds(job.estimated_wait):.0f} s wait")
    if job.state == job_pb2.JOB_STATE_SCHEDULED:
        start = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(job.not_before.seconds))
        lines.append(f"scheduled for {start}, about {_seconds(job.estimated_wait):.0f} s from now")
    if job.state == job_pb2.JOB_STATE_WAITING:
        lines.append(f"waiting for {', '.join(job.depends_on)}")
    for stage in job.stages:
        duration = f"{_seconds(stage.duration):.2f} s" if stage.HasField("duration") else ""
        name = label(job_pb2.Stage.Name(stage.stage))
        lines.append(f"  {name:<20} {label(job_pb2.StageState.Name(stage.state)):<10} {duration:>9}  {stage.summary}")
    if job.error.message:
        lines.append(f"error: {job.error.message}")
    return "\n".join(line.rstrip() for line in lines)


def queue_text(status: pb.GetQueueStatusResponse) -> str:
    """`skillbridge queue`: depth, running, counts, stage timings."""
    lines = [
        f"queued {status.queued}, running {status.running}, workers {status.workers}, "
        f"healthy {'yes' if status.healthy else 'no'}, throughput {status.throughput_per_second:.2f}/s",
    ]
    for depth in status.depth_by_priority:
        lines.append(f"  priority {depth.priority}: {depth.queued} queued")
    for state, count in sorted(status.jobs_by_state.items()):
        lines.append(f"  {label(state):<10} {count}")
    quota = status.caller_quota
    if quota.owner:
        limits = ", ".join(
            f"{name} {value:g}" if value else f"{name} unlimited"
            for name, value in (
                ("queued", quota.max_queued),
                ("running", quota.max_running),
                ("submits/s", quota.submit_rate),
            )
        )
        lines.append(
            f"  you: {quota.owner} ({quota.tier}, priority up to {quota.max_priority}): "
            f"{quota.queued} waiting, {quota.running} running; limits: {limits}"
        )
    for timing in status.stage_timings:
        name = label(job_pb2.Stage.Name(timing.stage))
        lines.append(
            f"  {name:<20} mean {_seconds(timing.mean):.2f} s, p95 {_seconds(timing.p95):.2f} s ({timing.samples} runs)"
        )
    return "\n".join(lines)
