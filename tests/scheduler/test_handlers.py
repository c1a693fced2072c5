"""What the course-recommendation stages hand on between the stage services, over real gRPC to the doubles."""

from __future__ import annotations

from skillbridge.common.v1 import course_pb2
from skillbridge.ner.v1 import ner_service_pb2
from skillbridge_client import AsyncSchedulerClient

from services.common.settings import Settings
from services.recommendation import core as recommendation_core
from services.retrieval import core as retrieval_core
from services.scheduler import handlers
from services.similarity import core as similarity_core
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


def test_the_request_caps_are_the_stage_services_own_limits() -> None:
    assert handlers.MAX_COMPARED_SKILLS == similarity_core.MAX_SKILLS
    assert handlers.MAX_QUERIES == retrieval_core.MAX_QUERIES
    assert handlers.MAX_CANDIDATES == recommendation_core.MAX_CANDIDATES


def _skill(name: str, confidence: float, required: bool = False) -> ner_service_pb2.ExtractedSkill:
    return ner_service_pb2.ExtractedSkill(name=name, confidence=confidence, required=required)


def test_past_the_cap_the_required_then_the_most_confident_skills_stay_in_their_order() -> None:
    skills = [_skill("a", 0.9), _skill("b", 0.5, required=True), _skill("c", 0.7), _skill("d", 0.95)]
    assert handlers.most_certain(skills, 4) == skills
    assert [s.name for s in handlers.most_certain(skills, 2)] == ["b", "d"]
    assert [s.name for s in handlers.most_certain(skills, 3)] == ["a", "b", "d"]


def _courses(*ids: str) -> list[course_pb2.Course]:
    return [course_pb2.Course(id=i) for i in ids]


def test_candidates_are_taken_in_turn_from_each_gaps_best() -> None:
    lists = [_courses("k1", "k2", "k3"), _courses("s1", "k1"), _courses("p1", "p2")]
    assert list(handlers.take_in_turn(lists, 100)) == ["k1", "s1", "p1", "k2", "p2", "k3"]
    assert list(handlers.take_in_turn(lists, 4)) == ["k1", "s1", "p1", "k2"]
    assert handlers.take_in_turn([], 5) == {}
