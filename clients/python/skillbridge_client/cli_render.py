"""What the CLI prints about jobs, as text (`--output table`, the default) or JSON (`--output json`): the report of
a finished analysis with its matches explained, a job's status, a table of jobs, and the queue."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from google.protobuf import json_format
from google.protobuf.message import Message

from skillbridge_client import scores
from skillbridge_client.cli_progress import epoch, seconds
from skillbridge_client.models import (
    CourseRecommendationResult,
    Job,
    JobState,
    JobType,
    MatchKind,
    QueueStatus,
    SkillMatch,
    Stage,
    StageServiceState,
    StageState,
)

FUZZY_KINDS = {MatchKind.ALIAS: "alias", MatchKind.RELATED: "related", MatchKind.SEMANTIC: "similar"}


def to_json(message: Message) -> str:
    """A message as indented JSON with the proto field names."""
    return json_format.MessageToJson(message, preserving_proto_field_name=True, indent=2)


def jobs_json(jobs: Sequence[Job]) -> str:
    """A list of jobs as one JSON array."""
    return json.dumps([json_format.MessageToDict(j, preserving_proto_field_name=True) for j in jobs], indent=2)


def report(job: Job) -> str:
    """The readable report of a job: its outcome and, for a finished analysis, the result."""
    headline = f"Job {job.id}: {JobState.label(job.state)}"
    if job.cached_from_job_id:
        headline += f" (reused the result of job {job.cached_from_job_id})"
    lines = [headline]
    if job.state in (JobState.FAILED, JobState.CANCELLED):
        if job.error.message:
            lines.append(f"Reason: {job.error.message}")
        return "\n".join(lines)
    if job.WhichOneof("result") != "course_recommendation_result":
        return "\n".join(lines)
    return "\n".join(lines + analysis(job.course_recommendation_result))


def analysis(result: CourseRecommendationResult) -> list[str]:
    """The lines of an analysis: score, skills (explained when the result says how each matched), courses."""
    details = result.matching_details
    covered = scores.covered_fraction(result.job_skills, result.skill_gap)
    shown = "-" if covered is None else scores.match_score(covered)
    covered_count = len(result.job_skills) - len(result.skill_gap)
    lines = [f"Match score: {shown} ({covered_count} of {len(result.job_skills)} job skills)"]
    if details.job_skill_matches:
        lines += explained_matches(details.job_skill_matches)
    else:
        matched = [m.job_skill for m in details.matches]
        lines.append(f"Matched skills ({len(matched)}): {', '.join(matched) or 'none'}")
    lines.append(f"Missing skills ({len(result.skill_gap)}): {', '.join(result.skill_gap) or 'none'}")
    if result.recommendations_text:
        lines += ["", result.recommendations_text]
    lines += ["", "Recommended courses:"]
    for number, rec in enumerate(result.recommended_courses, start=1):
        course = rec.course
        hours = f"{course.duration_hours} h" if course.duration_hours else ""
        meta = ", ".join(x for x in (course.provider, course.level, hours) if x)
        lines.append(f"{number}. {course.title}" + (f" ({meta})" if meta else ""))
        if rec.rationale:
            lines.append(f"   why: {rec.rationale}")
        potential, gain = scores.potential_score(rec.potential_score), scores.improvement(rec.score_improvement)
        lines.append(f"   potential score {potential} ({gain})")
        if course.url:
            lines.append(f"   {course.url}")
    if not result.recommended_courses:
        lines.append("   none needed")
    if result.uncovered_skills:
        lines.append(f"No course in the catalog teaches: {', '.join(result.uncovered_skills)}")
    return lines


def _in_own_words(match: SkillMatch) -> bool:
    return match.kind == MatchKind.SEMANTIC and match.resume_skill.casefold() == match.job_skill.casefold()


def explained_matches(matches: Sequence[SkillMatch]) -> list[str]:
    """One line per skill the job asks for: exact matches plainly, fuzzy ones with the resume skill that stood in
    and its similarity, missing ones marked; required or nice to have; the resume's own words when given."""
    width = max(len(m.job_skill) for m in matches)
    required = sum(m.required for m in matches)
    lines = [f"Skills the job asks for ({required} required, {len(matches) - required} nice to have):"]
    for match in matches:
        need = "required" if match.required else "nice to have"
        if match.kind == MatchKind.MISSING:
            mark, how = "[missing]", ""
        elif match.kind in FUZZY_KINDS:
            similarity = scores.match_score(match.score)
            # A match found in the resume's own sentences names the job skill itself as the resume skill.
            stood_in = "the resume's words" if _in_own_words(match) else match.resume_skill
            mark, how = f"[{FUZZY_KINDS[match.kind]}]", f"via {stood_in}, {similarity}"
        else:
            mark, how = "[exact]", ""
        if match.evidence and match.kind != MatchKind.MISSING:
            how = f'{how}  "{match.evidence}"'.strip()
        lines.append(f"  {mark:<9} {match.job_skill:<{width}}  {need:<12}  {how}".rstrip())
    return lines


def status_text(job: Job) -> str:
    """`skillbridge status`: state, queue place, what it waits for, progress and each stage."""
    lines = [
        f"Job {job.id} ({JobType.label(job.type)}): {JobState.label(job.state)}",
        f"progress {scores.match_score(job.progress)}, attempt {job.attempt}, last event {job.last_sequence}",
    ]
    if job.state == JobState.QUEUED:
        lines.append(f"position {job.position_in_queue}, about {seconds(job.estimated_wait):.0f} s wait")
    if job.state == JobState.SCHEDULED:
        start = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(job.not_before.seconds))
        lines.append(f"scheduled for {start}, about {seconds(job.estimated_wait):.0f} s from now")
    if job.state == JobState.WAITING:
        lines.append(f"waiting for {', '.join(job.depends_on)}")
    if job.waiting_for_service:
        lines.append(f"waiting for the {job.waiting_for_service} service to come back")
    if job.cached_from_job_id:
        lines.append(f"reused the result of job {job.cached_from_job_id}")
    for stage in job.stages:
        duration = f"{seconds(stage.duration):.2f} s" if stage.HasField("duration") else ""
        name, state = Stage.label(stage.stage), StageState.label(stage.state)
        lines.append(f"  {name:<20} {state:<10} {duration:>9}  {stage.summary}")
    if job.error.message:
        lines.append(f"error: {job.error.message}")
    return "\n".join(line.rstrip() for line in lines)


def ago(stamp: float, now: float) -> str:
    """A past moment as "12s ago", "5m ago", "3h ago", "2d ago"."""
    age = max(now - stamp, 0.0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if age >= size:
            return f"{int(age // size)}{unit} ago"
    return f"{int(age)}s ago"


def jobs_table(jobs: Sequence[Job], now: float | None = None) -> str:
    """`skillbridge list`: one row per job: id, state, type, match score, when it was submitted."""
    if not jobs:
        return "no jobs"
    now = time.time() if now is None else now
    header = ("ID", "STATE", "TYPE", "SCORE", "SUBMITTED")
    rows = [header]
    for job in jobs:
        score = ""
        if job.WhichOneof("result") == "course_recommendation_result":
            result = job.course_recommendation_result
            covered = scores.covered_fraction(result.job_skills, result.skill_gap)
            score = "" if covered is None else scores.match_score(covered)
        submitted = ago(epoch(job.create_time), now) if job.HasField("create_time") else ""
        rows.append((job.id, JobState.label(job.state), JobType.label(job.type), score, submitted))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def queue_text(status: QueueStatus) -> str:
    """`skillbridge queue`: depth, running, counts, stage services, stage timings."""
    lines = [
        f"queued {status.queued}, running {status.running}, workers {status.workers}, "
        f"healthy {'yes' if status.healthy else 'no'}, throughput {status.throughput_per_second:.2f}/s",
    ]
    for depth in status.depth_by_priority:
        lines.append(f"  priority {depth.priority}: {depth.queued} queued")
    for state, count in sorted(status.jobs_by_state.items()):
        lines.append(f"  {state.removeprefix('JOB_STATE_').lower():<10} {count}")
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
    for service in status.stage_services:
        state = StageServiceState.label(service.state)
        waiting = f", {service.waiting_jobs} jobs waiting" if service.waiting_jobs else ""
        reason = f" ({service.reason})" if service.reason and service.state != StageServiceState.SERVING else ""
        lines.append(f"  {service.service + ' service':<20} {state}{reason}{waiting}")
    for timing in status.stage_timings:
        name = Stage.label(timing.stage)
        p50 = f"p50 {seconds(timing.p50):.2f} s, " if timing.HasField("p50") else ""
        lines.append(
            f"  {name:<20} {p50}mean {seconds(timing.mean):.2f} s, p95 {seconds(timing.p95):.2f} s "
            f"({timing.samples} runs)"
        )
    return "\n".join(lines)
