"""Unit tests of the scheduler's pure rules."""

from __future__ import annotations

import dataclasses

import pytest

from services.common import errors
from services.scheduler import core
from services.scheduler.model import CourseInput, EventKind, JobRecord, JobState, JobType, NoopInput, Stage, StageState

LIMITS = core.Limits(max_text_bytes=1000, max_priority=9)


def course_sub(**overrides: object) -> core.Submission:
    given = dataclasses.replace(CourseInput("Python developer", "Needs Python and SQL", 0.5), **overrides)
    return core.Submission(type=JobType.COURSE_RECOMMENDATION, input=given)


def running_job(job_type: JobType = JobType.COURSE_RECOMMENDATION) -> JobRecord:
    sub = course_sub() if job_type is JobType.COURSE_RECOMMENDATION else core.Submission(JobType.NOOP, None)
    job, _ = core.new_job(sub, "alice", now=100.0)
    core.start_attempt(job, "w1", now=101.0, lease_until=111.0)
    return job


def test_valid_submission_passes() -> None:
    core.validate_submission(course_sub(), LIMITS)


@pytest.mark.parametrize(
    ("sub", "field"),
    [
        (course_sub(resume_text=""), "course_recommendation.resume_text"),
        (course_sub(job_description_text="   "), "course_recommendation.job_description_text"),
        (course_sub(resume_text="x" * 1001), "course_recommendation.resume_text"),
        (course_sub(threshold=1.5), "course_recommendation.threshold"),
        (core.Submission(type=None, input=None), "type"),
        (core.Submission(type=JobType.NOOP, input=None, priority=-1), "priority"),
        (core.Submission(type=JobType.NOOP, input=None, priority=10), "priority"),
        (core.Submission(type=JobType.NOOP, input=None, request_id="r" * 200), "request_id"),
        (core.Submission(type=JobType.NOOP, input=CourseInput("a", "b")), "type"),
        (core.Submission(type=JobType.COURSE_RECOMMENDATION, input=NoopInput(b"x")), "type"),
        (core.Submission(type=JobType.COURSE_RECOMMENDATION, input=None), "course_recommendation"),
        (core.Submission(type=JobType.NOOP, input=NoopInput(b"x" * 2_000_000)), "noop.payload"),
    ],
)
def test_bad_submissions_name_the_field(sub: core.Submission, field: str) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        core.validate_submission(sub, LIMITS)
    assert [v.field for v in caught.value.violations] == [field]


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        core.validate_submission(course_sub(resume_text="", job_description_text=""), LIMITS)
    assert len(caught.value.violations) == 2


def test_new_job_is_queued_with_pending_stages_and_its_threshold_even_zero() -> None:
    job, event = core.new_job(course_sub(threshold=0.0), "alice", now=5.0)
    assert job.state is JobState.QUEUED
    assert [s.stage for s in job.stages] == list(Stage)
    assert all(s.state is StageState.PENDING for s in job.stages)
    assert job.input == CourseInput("Python developer", "Needs Python and SQL", 0.0)
    assert CourseInput("r", "j").threshold == 0.5  # given none: the default
    assert event.kind is EventKind.QUEUED


def test_ids_are_time_ordered() -> None:
    assert core.new_job_id(1000.0) < core.new_job_id(1000.002)


def test_attempt_moves_the_fence() -> None:
    job = running_job()
    assert (job.state, job.attempt, job.fence) == (JobState.RUNNING, 1, 1)


def test_stage_lifecycle_and_progress() -> None:
    job = running_job()
    assert core.progress(job) == 0.0
    core.start_stage(job, Stage.ENTITY_RECOGNITION, 102.0)
    core.report_progress(job, Stage.ENTITY_RECOGNITION, 0.5, {"entities": 3})
    assert core.progress(job) == pytest.approx(0.5 / 6, abs=1e-3)
    events = core.finish_stage(job, Stage.ENTITY_RECOGNITION, 104.0, "3 entities", {})
    assert events[0].data["duration"] == 2.0
    assert core.progress(job) == pytest.approx(1 / 6, abs=1e-3)


def test_succeed_sets_ttl_and_is_terminal() -> None:
    job = running_job()
    events = core.succeed(job, b"ok", now=110.0, ttl=60.0)
    assert job.state is JobState.SUCCEEDED and job.expire_time == 170.0
    assert events[0].kind is EventKind.SUCCEEDED and events[0].data["duration"] == 9.0
    assert core.progress(job) == 1.0
    with pytest.raises(core.JobAlreadyFinished):
        core.cancel(job, "too late", 111.0, 60.0)


def test_cancel_running_closes_the_stage_and_moves_the_fence() -> None:
    job = running_job()
    core.start_stage(job, Stage.SKILL_EXTRACTION, 102.0)
    fence = job.fence
    events = core.cancel(job, "user asked", 103.0, 60.0)
    assert [e.kind for e in events] == [EventKind.STAGE_FINISHED, EventKind.CANCELLED]
    assert job.fence == fence + 1
    assert job.stages[1].state is StageState.CANCELLED
    assert all(s.state is StageState.CANCELLED for s in job.stages[2:])
    assert events[1].data["stage"] == "SKILL_EXTRACTION"


def test_requeue_until_attempts_run_out() -> None:
    job = running_job()
    events = core.requeue(job, "lease expired", max_attempts=2, now=120.0, ttl=60.0)
    assert job.state is JobState.QUEUED and events[-1].kind is EventKind.RETRIED
    core.start_attempt(job, "w2", 121.0, 131.0)
    assert job.attempt == 2
    events = core.requeue(job, "lease expired", max_attempts=2, now=140.0, ttl=60.0)
    assert job.state is JobState.FAILED and events[-1].kind is EventKind.FAILED
    assert job.error is not None and "2 attempts" in job.error.message


def test_timings_come_from_finished_stages_and_successful_jobs() -> None:
    job = running_job()
    core.start_stage(job, Stage.ENTITY_RECOGNITION, 102.0)
    events = core.finish_stage(job, Stage.ENTITY_RECOGNITION, 103.5, "", {})
    events += core.succeed(job, b"", 104.0, 60.0)
    assert [t for e in events for t in e.timings] == [
        ("stage:ENTITY_RECOGNITION", 1.5),
        ("job:course_recommendation", 3.0),
    ]


def test_timings_report_mean_median_and_p95() -> None:
    from services.scheduler.store.base import timing_of

    timing = timing_of("stage:SCORING", [3.0, 1.0, 2.0, 10.0])
    assert (timing.mean, timing.p50, timing.p95, timing.samples, timing.recent) == (4.0, 2.5, 10.0, 4, 2.5)
