"""End to end: the example resume and job description through the scheduler and the four real stage services."""

from __future__ import annotations

import grpc
import pytest
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.settings import REPO_ROOT, Settings
from services.scheduler.handlers import MAX_CANDIDATES, MAX_QUERIES
from services.scheduler.server import start
from tests.bench.write_bench import prose, sized_text

pytestmark = [pytest.mark.ml, pytest.mark.asyncio(loop_scope="module")]

EXAMPLES = REPO_ROOT / "data" / "examples"


async def run_job(settings: Settings, resume: str, job: str) -> tuple[job_pb2.Job, list[job_pb2.JobEvent]]:
    server = await start(settings, port=0)
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.JobSchedulerServiceStub(channel)
            cr = job_pb2.CourseRecommendationInput(resume_text=resume, job_description_text=job, threshold=0.5)
            submitted = await stub.SubmitJob(
                pb.SubmitJobRequest(type=job_pb2.JOB_TYPE_COURSE_RECOMMENDATION, course_recommendation=cr)
            )
            events = [
                u.event async for u in stub.WatchJob(pb.WatchJobRequest(job_id=submitted.job.id)) if u.HasField("event")
            ]
            final = (await stub.GetJob(pb.GetJobRequest(job_id=submitted.job.id))).job
    finally:
        await server.stop(0.5)
    return final, events


async def test_example_analysis_end_to_end(stack_settings: Settings) -> None:
    resume = (EXAMPLES / "resume.txt").read_text()
    job_text = (EXAMPLES / "job_description.txt").read_text()
    job, events = await run_job(stack_settings, resume, job_text)
    assert job.state == job_pb2.JOB_STATE_SUCCEEDED, job.error.message
    result = job.course_recommendation_result
    assert {"Python", "SQL", "Apache Spark"} <= set(result.job_skills)
    assert {"Python", "SQL"} <= set(result.user_skills)
    assert result.skill_gap, "the example job asks for skills the resume lacks"
    assert set(result.skill_gap) <= set(result.job_skills)
    assert any(e.label == "ORG" for e in result.resume_entities)
    assert result.recommended_courses
    covered = {s for c in result.recommended_courses for s in c.covered_skills}
    assert covered and covered <= set(result.skill_gap)
    assert 0 < result.matching_details.overall_score < 1
    # Course scores are on the scale users read: the share of the job's skills covered.
    score = (len(result.job_skills) - len(result.skill_gap)) / len(result.job_skills)
    assert 0 < score < 1
    for course in result.recommended_courses:
        assert course.rationale and course.course.url.startswith("https://")
        assert course.potential_score == pytest.approx(score + course.score_improvement, abs=1e-6)
        assert course.score_improvement > 0
    assert result.recommendations_text
    finished = [e.stage_finished for e in events if e.HasField("stage_finished")]
    assert [f.stage for f in finished] == list(range(1, 7))
    assert all(f.state == job_pb2.STAGE_STATE_SUCCEEDED for f in finished)


async def test_resume_that_covers_everything_gets_no_courses(stack_settings: Settings) -> None:
    text = "Python and SQL developer who builds Docker images."
    job, _ = await run_job(stack_settings, text, "We need Python and SQL.")
    assert job.state == job_pb2.JOB_STATE_SUCCEEDED
    result = job.course_recommendation_result
    assert list(result.skill_gap) == []
    assert list(result.recommended_courses) == []
    assert "already covers" in result.recommendations_text


async def test_texts_without_skills_still_finish(stack_settings: Settings) -> None:
    job, _ = await run_job(stack_settings, "Ich koche gern und wandere.", "Wir suchen einen freundlichen Menschen.")
    assert job.state == job_pb2.JOB_STATE_SUCCEEDED
    assert list(job.course_recommendation_result.job_skills) == []


async def test_the_longest_texts_a_job_takes_finish_with_every_stage_request_within_its_limits(
    stack_settings: Settings,
) -> None:
    """Near 100,000 characters a side, a resume and job ad name hundreds of skills and gaps: more than one request
    to a stage service may carry (at most 500 candidate courses to ranking, 256 gaps per search). The analysis
    must split or trim its requests, not fail."""
    job_text = sized_text(prose("job_description"), 95_000, 5, "long ad")
    for resume in (sized_text(prose("resume"), 95_000, 0, "long resume"), "Line cook, five years on the grill."):
        job, events = await run_job(stack_settings, resume, job_text)
        assert job.state == job_pb2.JOB_STATE_SUCCEEDED, job.error.message
        result = job.course_recommendation_result
        assert result.recommended_courses
        retrieval = next(e.stage_finished for e in events if e.stage_finished.stage == job_pb2.STAGE_COURSE_RETRIEVAL)
        assert retrieval.metrics["candidates"] == MAX_CANDIDATES
    assert len(result.skill_gap) > MAX_QUERIES  # the short resume: more gaps than one search may carry
