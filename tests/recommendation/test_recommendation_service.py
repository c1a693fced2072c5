"""The recommendation service over real gRPC, with candidates from the real data/courses.jsonl."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from skillbridge.common.v1 import course_pb2
from skillbridge.recommendation.v1 import recommendation_service_pb2 as pb
from skillbridge.recommendation.v1 import recommendation_service_pb2_grpc as pb_grpc

from services.common.catalog import Course, load_catalog
from services.common.course_proto import course_to_proto
from services.common.settings import REPO_ROOT, Settings
from services.recommendation.server import SERVICE_NAME, start


@pytest.fixture(scope="module")
def catalog() -> list[Course]:
    # The software, data, cloud and general courses: fewer than the service's 500-candidate limit.
    tech = {"software", "data", "cloud-devops", "general"}
    return [c for c in load_catalog(REPO_ROOT / "data" / "courses.jsonl") if c.field in tech]


def protos(courses: list[Course]) -> list[course_pb2.Course]:
    return [course_to_proto(c) for c in courses]


def field_violations(error: grpc.aio.AioRpcError) -> list[str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]  # AioRpcError has the Call methods it reads
    assert status is not None
    fields: list[str] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields.extend(v.field for v in bad.field_violations)
    return fields


async def test_recommends_catalog_courses_that_cover_the_missing_skills(
    local_stub: pb_grpc.RecommendationServiceAsyncStub, catalog: list[Course]
) -> None:
    missing = ["Apache Kafka", "Kubernetes", "Terraform", "Stream Processing", "dbt"]
    resume = ["Python", "SQL"]
    reply = await local_stub.RecommendCourses(
        pb.RecommendCoursesRequest(
            missing_skills=missing,
            resume_skills=resume,
            job_skills=[*resume, *missing],
            candidates=protos(catalog),  # about 330 candidates, under the 500 limit
            max_courses=5,
        ),
        timeout=30,
    )
    assert reply.backend == "local"
    assert reply.fallback_reason == ""
    by_id = {c.id: c for c in catalog}
    covered: set[str] = set()
    for rec in reply.courses:
        original = by_id[rec.course.id]
        assert rec.course == course_to_proto(original)
        assert set(rec.covered_skills) <= set(missing)
        assert set(rec.covered_skills) <= set(original.skills)
        assert set(rec.covered_skills) - covered, f"{rec.course.id} adds nothing new"
        covered |= set(rec.covered_skills)
        assert rec.rationale.startswith("Covers ")
        assert all(skill in rec.rationale for skill in rec.covered_skills)
        assert rec.gap_coverage == pytest.approx(len(rec.covered_skills) / len(missing))
    assert covered == set(missing)
    # Kafka and stream processing come together in one course, so the gap needs at most four.
    assert len(reply.courses) <= 4
    assert reply.courses[0].covered_skills == ["Apache Kafka", "Stream Processing"]
    assert "100% of the gap" in reply.summary


async def test_plan_names_what_the_catalog_cannot_teach(
    local_stub: pb_grpc.RecommendationServiceAsyncStub, catalog: list[Course]
) -> None:
    missing = ["React", "Underwater Basket Weaving"]
    reply = await local_stub.RecommendCourses(
        pb.RecommendCoursesRequest(
            missing_skills=missing, resume_skills=[], job_skills=missing, candidates=protos(catalog)
        ),
        timeout=30,
    )
    assert len(reply.courses) == 1
    assert reply.courses[0].covered_skills == ["React"]
    # The resume knows none of the React courses' skills, so the beginner course wins among equals.
    assert reply.courses[0].course.level == "beginner"
    assert "No course found for Underwater Basket Weaving." in reply.summary
    assert list(reply.uncovered_skills) == ["Underwater Basket Weaving"]


async def test_score_courses_over_grpc(
    local_stub: pb_grpc.RecommendationServiceAsyncStub, catalog: list[Course]
) -> None:
    kafka = next(c for c in catalog if {"Apache Kafka", "Stream Processing"} <= set(c.skills))
    unrelated = next(c for c in catalog if c.skills == ("Negotiation",))
    reply = await local_stub.ScoreCourses(
        pb.ScoreCoursesRequest(
            resume_skills=["Python", "SQL"],
            job_skills=["Python", "SQL", "Apache Kafka", "Stream Processing", "Kubernetes"],
            missing_skills=["Apache Kafka", "Stream Processing", "Kubernetes"],
            current_score=0.4,
            courses=protos([kafka, unrelated]),
        ),
        timeout=10,
    )
    assert [s.course_id for s in reply.scores] == [kafka.id, unrelated.id]
    assert reply.scores[0].potential_score == pytest.approx(0.8)
    assert reply.scores[0].score_improvement == pytest.approx(0.4)
    assert reply.scores[1].potential_score == pytest.approx(0.4)
    assert reply.scores[1].score_improvement == 0.0


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.RecommendCoursesRequest(missing_skills=["A"], max_courses=21), "max_courses"),
        (pb.RecommendCoursesRequest(missing_skills=["A", ""]), "missing_skills[1]"),
        (
            pb.RecommendCoursesRequest(
                missing_skills=["A"], candidates=[course_pb2.Course(id=str(i)) for i in range(501)]
            ),
            "candidates",
        ),
        (
            pb.RecommendCoursesRequest(missing_skills=["A"], candidates=[course_pb2.Course(id="x", level="guru")]),
            "candidates[0].level",
        ),
    ],
)
async def test_bad_recommend_requests_are_invalid_argument(
    local_stub: pb_grpc.RecommendationServiceAsyncStub, request_: pb.RecommendCoursesRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await local_stub.RecommendCourses(request_, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(caught.value) == [field]


async def test_bad_score_request_is_invalid_argument(local_stub: pb_grpc.RecommendationServiceAsyncStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await local_stub.ScoreCourses(
            pb.ScoreCoursesRequest(job_skills=["A"], missing_skills=["A"], current_score=2.0), timeout=10
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(caught.value) == ["current_score"]


async def test_health_reports_serving_for_the_service() -> None:
    running = await start(Settings.from_env({}), port=0)
    try:
        async with grpc.aio.insecure_channel(running.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            reply = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await running.stop(0)
