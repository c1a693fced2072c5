"""The original system's REST shapes (SEED.md, "The original REST contract"): typed response models and the
conversion from our Job to them, so the original browser client renders our results unchanged.

What its client relies on: courses carry `course_name`, `url`, `description`, and `potential_score` /
`score_improvement` in percent; `matching_details` is a list with one `{job_skill, best_match, similarity,
is_match}` per job skill; `skill_gap` is a subset of `job_skills` spelled identically; `position_in_queue` and
`estimated_wait_seconds` are integers; status is one of queued, running, completed, failed (a cancelled job reads
"failed", with an error saying so, since its poll loop stops on nothing else). Extra keys are harmless to it and
are kept beside these for newer clients."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field
from skillbridge.common.v1 import course_pb2
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb

from gateway.convert import seconds, to_json

SeedStatusName = Literal["queued", "running", "completed", "failed"]

SEED_STATUS: dict[int, SeedStatusName] = {
    job_pb2.JOB_STATE_QUEUED: "queued",
    # The original knows no delayed or waiting jobs: to its client they are queued (v1 tells them apart).
    job_pb2.JOB_STATE_SCHEDULED: "queued",
    job_pb2.JOB_STATE_WAITING: "queued",
    job_pb2.JOB_STATE_RUNNING: "running",
    job_pb2.JOB_STATE_SUCCEEDED: "completed",
    job_pb2.JOB_STATE_FAILED: "failed",
    job_pb2.JOB_STATE_CANCELLED: "failed",
}


_STATE_NAMES = frozenset(job_pb2.JobState.keys())


class SeedSubmitted(BaseModel):
    """The answer to POST /jobs/submit."""

    job_id: str
    status: SeedStatusName
    position_in_queue: int
    estimated_wait_seconds: int
    message: str


class SeedCourse(BaseModel):
    """One recommended course. The first five fields are the original's; the rest are extras."""

    course_name: str
    url: str
    description: str
    potential_score: float = Field(description="Job-match score in percent (0-100) after taking the course.")
    score_improvement: float = Field(description="max(0, potential_score - current score), in points of percent.")
    id: str
    provider: str
    skills: list[str]
    level: str
    duration_hours: int
    field: str
    covered_skills: list[str] = Field(description="Missing skills the course teaches.")
    rationale: str


class SeedMatch(BaseModel):
    """How one job skill was matched. The first four fields are the original's; the rest are extras."""

    job_skill: str
    best_match: str | None
    similarity: float = Field(ge=0.0, le=1.0)
    is_match: bool
    kind: str | None = Field(description="exact, alias, related, semantic or missing; null when not reported.")
    evidence: str = Field(description="The resume's own words that show the skill, when reported.")
    required: bool | None = Field(description="Whether the job ad requires the skill; null when not reported.")
    skill_id: str


class SeedResult(BaseModel):
    """The `result` of a completed course-recommendation job (the original's CourseRecommendationResponse)."""

    recommended_courses: list[SeedCourse]
    skill_gap: list[str]
    job_skills: list[str]
    user_skills: list[str]
    recommendations_text: str | None
    matching_details: list[SeedMatch]
    match_score: float = Field(description="round(100 x matched / job skills, 2), as the original computes it.")
    uncovered_skills: list[str]
    resume_entities: list[dict[str, Any]]
    job_entities: list[dict[str, Any]]


class SeedStatus(BaseModel):
    """The answer to GET /jobs/status/{job_id}."""

    job_id: str
    status: SeedStatusName
    position_in_queue: int
    estimated_wait_seconds: int
    result: SeedResult | dict[str, Any] | None = Field(
        description="The analysis once completed (other job types: their proto JSON result)."
    )
    error: str | None
    created_at: str | None
    started_at: str | None
    completed_at: str | None
    state: str = Field(description="The v1 state name, e.g. JOB_STATE_CANCELLED.")
    progress: float
    current_stage: str


class SeedQueueStatus(BaseModel):
    """The answer to GET /jobs/queue/status."""

    queue_size: int
    total_jobs: int
    worker_running: bool
    jobs_by_status: dict[str, int]
    running: int
    workers: int


def _iso(stamp: Any, present: bool) -> str | None:
    return str(stamp.ToJsonString()) if present else None


def wait_seconds(job: job_pb2.Job) -> int:
    """The wait estimate in whole seconds, rounded up (the original's is an integer)."""
    return max(0, math.ceil(seconds(job.estimated_wait) - 1e-9))


def seed_submitted(job: job_pb2.Job) -> SeedSubmitted:
    wait = wait_seconds(job)
    return SeedSubmitted(
        job_id=job.id,
        status=SEED_STATUS.get(job.state, "queued"),
        position_in_queue=int(job.position_in_queue),
        estimated_wait_seconds=wait,
        message=f"Job queued at position {job.position_in_queue}, about {wait} s wait",
    )


def seed_error(job: job_pb2.Job) -> str | None:
    """The error of a failed job; for a cancelled one, that it was cancelled and why."""
    message = job.error.message if job.HasField("error") else ""
    if job.state == job_pb2.JOB_STATE_CANCELLED:
        reason = message if message and message != "cancelled" else "no reason given"
        return f"The job was cancelled: {reason}"
    if job.state == job_pb2.JOB_STATE_FAILED:
        return message or "The job failed."
    return None


def seed_status(job: job_pb2.Job) -> SeedStatus:
    """GET /jobs/status/{id} of the original contract."""
    return SeedStatus(
        job_id=job.id,
        status=SEED_STATUS.get(job.state, "queued"),
        position_in_queue=int(job.position_in_queue),
        estimated_wait_seconds=wait_seconds(job),
        result=seed_result(job) if job.state == job_pb2.JOB_STATE_SUCCEEDED else None,
        error=seed_error(job),
        created_at=_iso(job.create_time, job.HasField("create_time")),
        started_at=_iso(job.start_time, job.HasField("start_time")),
        completed_at=_iso(job.end_time, job.HasField("end_time")),
        state=job_pb2.JobState.Name(job.state),
        progress=job.progress,
        current_stage=job_pb2.Stage.Name(job.current_stage),
    )


def seed_result(job: job_pb2.Job) -> SeedResult | dict[str, Any] | None:
    """The `result` of a finished job: the original's shape for an analysis, proto JSON for other types."""
    kind = job.WhichOneof("result")
    if kind is None:
        return None
    if kind != "course_recommendation_result":
        return to_json(getattr(job, kind))
    result = job.course_recommendation_result
    job_skills = list(result.job_skills)
    gap_keys = {_key(s) for s in result.skill_gap}
    # Spelled as in job_skills and in its order, so the client's score (job skills not in the gap) adds up.
    skill_gap = [s for s in job_skills if _key(s) in gap_keys]
    matched = len(job_skills) - len(skill_gap)
    current = percent(matched, len(job_skills))
    courses = [_course(rec, job_skills, gap_keys, matched, current) for rec in result.recommended_courses]
    return SeedResult(
        recommended_courses=courses,
        skill_gap=skill_gap,
        job_skills=job_skills,
        user_skills=list(result.user_skills),
        recommendations_text=result.recommendations_text or None,
        matching_details=matching_details(result.matching_details, job_skills, gap_keys),
        match_score=current,
        uncovered_skills=list(result.uncovered_skills),
        resume_entities=[to_json(e) for e in result.resume_entities],
        job_entities=[to_json(e) for e in result.job_entities],
    )


def percent(part: int, whole: int) -> float:
    """round(100 x part / whole, 2): the original's score; 0 when there is nothing to match."""
    return round(100.0 * part / whole, 2) if whole else 0.0


def _course(
    rec: job_pb2.CourseRecommendation, job_skills: Sequence[str], gap_keys: set[str], matched: int, current: float
) -> SeedCourse:
    course = rec.course
    taught = {_key(s) for s in (rec.covered_skills or course.skills)} & gap_keys
    # Job skills the course would add: the score after it counts them as matched, as the original's does.
    gained = sum(1 for s in job_skills if _key(s) in taught)
    potential = percent(min(matched + gained, len(job_skills)), len(job_skills))
    return SeedCourse(
        course_name=course.title,
        url=course.url,
        description=course.description,
        potential_score=potential,
        score_improvement=max(0.0, round(potential - current, 2)),
        id=course.id,
        provider=course.provider,
        skills=list(course.skills),
        level=course.level,
        duration_hours=course.duration_hours,
        field=course.field,
        covered_skills=list(rec.covered_skills),
        rationale=rec.rationale,
    )


def matching_details(
    details: job_pb2.MatchingDetails, job_skills: Sequence[str], gap_keys: set[str]
) -> list[SeedMatch]:
    """One entry per job skill. From `job_skill_matches` (one SkillMatch per job skill) where the analysis
    reports them; otherwise from the covered `matches` plus the gap: a missing skill has no best match and
    similarity 0. `is_match` follows the gap, so the list and the client's score always agree."""
    by_skill: dict[str, course_pb2.SkillMatch] = {}
    for entry in [*details.matches, *details.job_skill_matches]:  # the per-skill entries win
        by_skill[_key(entry.job_skill)] = entry
    out = []
    for skill in job_skills:
        is_match = _key(skill) not in gap_keys
        match = by_skill.get(_key(skill))
        if match is None:
            out.append(
                SeedMatch(
                    job_skill=skill,
                    best_match=None,
                    similarity=0.0,
                    is_match=is_match,
                    kind=None if is_match else "missing",
                    evidence="",
                    required=None,
                    skill_id="",
                )
            )
        else:
            out.append(
                SeedMatch(
                    job_skill=skill,
                    best_match=match.resume_skill or None,
                    similarity=_unit(match.score),
                    is_match=is_match,
                    kind=_kind(match),
                    evidence=match.evidence,
                    required=_required(match, details),
                    skill_id=match.skill_id,
                )
            )
    return out


def _required(match: course_pb2.SkillMatch | None, details: job_pb2.MatchingDetails) -> bool | None:
    # Only the per-skill entries say whether the ad requires the skill; the covered `matches` do not.
    if match is None or not details.job_skill_matches:
        return None
    return match.required


def _kind(match: course_pb2.SkillMatch) -> str | None:
    if match.kind == course_pb2.MATCH_KIND_UNSPECIFIED:
        return None
    return course_pb2.MatchKind.Name(match.kind).removeprefix("MATCH_KIND_").lower()


def _unit(score: float) -> float:
    return min(1.0, max(0.0, score)) if math.isfinite(score) else 0.0


def _key(skill: str) -> str:
    return skill.strip().casefold()


def seed_queue(status: pb.GetQueueStatusResponse) -> SeedQueueStatus:
    """GET /jobs/queue/status of the original contract: counts under its four statuses."""
    by_status: dict[str, int] = {"queued": 0, "running": 0, "completed": 0, "failed": 0}
    for state_name, count in status.jobs_by_state.items():
        name = SEED_STATUS.get(job_pb2.JobState.Value(state_name)) if state_name in _STATE_NAMES else None
        if name is not None:
            by_status[name] += int(count)
    return SeedQueueStatus(
        queue_size=int(status.queued),
        total_jobs=sum(by_status.values()),
        worker_running=bool(status.healthy and status.workers > 0),
        jobs_by_status=by_status,
        running=int(status.running),
        workers=status.workers,
    )
