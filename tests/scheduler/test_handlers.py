"""What the course-recommendation stages hand on between the stage services, over real gRPC to the doubles."""

from __future__ import annotations

from skillbridge_client import AsyncSchedulerClient

from services.common.settings import Settings
from tests.sdk.harness import JOB_DESCRIPTION, RESUME, running_stack


async def test_the_field_reaches_retrieval_and_ranking_and_uncovered_gaps_reach_the_result(settings: Settings) -> None:
    async with running_stack(settings) as stack, AsyncSchedulerClient(stack.address) as client:
        stack.doubles.unteachable = {"Kafka"}
        job = await client.wait((await client.submit_analysis(RESUME, JOB_DESCRIPTION)).id, timeout=30)
        result = job.course_recommendation_result
        assert list(result.skill_gap) == ["Kubernetes", "Kafka"]
        assert list(result.uncovered_skills) == ["Kafka"]
        assert [c.course.title for c in result.recommended_courses] == ["Learn Kubernetes"]
        field = result.matching_details.job_field
        assert stack.doubles.requests["SearchCourses"].preferred_field == field
        assert stack.doubles.requests["RecommendCourses"].job_field == field


async def test_scores_are_shares_of_the_job_skills_covered(settings: Settings) -> None:
    """The match score users read is the share of job skills covered (2 of 4 here); a course that teaches one
    more gap skill adds a quarter."""
    async with running_stack(settings) as stack, AsyncSchedulerClient(stack.address) as client:
        job = await client.wait((await client.submit_analysis(RESUME, JOB_DESCRIPTION)).id, timeout=30)
        courses = job.course_recommendation_result.recommended_courses
        assert {round(c.potential_score, 6) for c in courses} == {0.75}
        assert {round(c.score_improvement, 6) for c in courses} == {0.25}
