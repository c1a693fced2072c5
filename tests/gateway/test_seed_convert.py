"""gateway.seed on hand-built results: matching_details from the per-skill matches when the analysis reports
them and from the covered matches plus the gap when not; the original's percent scores; the contract schema
refuses the shapes the original client broke on."""

from __future__ import annotations

import jsonschema
import pytest
from skillbridge.common.v1 import course_pb2
from skillbridge.scheduler.v1 import job_pb2

from gateway.seed import seed_result, seed_status
from tests.gateway.seed_contract import check, check_result_semantics

JOB_SKILLS = ["Python", "Kubernetes", "Lean"]


def finished(result: job_pb2.CourseRecommendationResult) -> job_pb2.Job:
    job = job_pb2.Job(id="j1", state=job_pb2.JOB_STATE_SUCCEEDED, course_recommendation_result=result)
    job.create_time.GetCurrentTime()
    job.end_time.GetCurrentTime()
    return job


def analysis(**fields: object) -> job_pb2.CourseRecommendationResult:
    result = job_pb2.CourseRecommendationResult(
        job_skills=JOB_SKILLS, user_skills=["python", "Lean Six Sigma"], skill_gap=["kubernetes"], **fields
    )
    course = course_pb2.Course(
        id="k8s", title="Kubernetes in Practice", url="https://example.org/k8s", skills=["Kubernetes"]
    )
    result.recommended_courses.add(course=course, covered_skills=["Kubernetes"], potential_score=1.0)
    return result


def test_per_skill_matches_are_used_when_reported() -> None:
    result = analysis()
    details = result.matching_details
    details.job_skill_matches.add(
        job_skill="Python", resume_skill="python", score=1.0, kind=course_pb2.MATCH_KIND_ALIAS, required=True
    )
    details.job_skill_matches.add(job_skill="Kubernetes", score=0.31, kind=course_pb2.MATCH_KIND_MISSING)
    details.job_skill_matches.add(
        job_skill="Lean",
        resume_skill="Lean Six Sigma",
        score=0.62,
        kind=course_pb2.MATCH_KIND_RELATED,
        evidence="Lean Six Sigma green belt",
    )
    status = seed_status(finished(result)).model_dump()
    check("status", status)
    out = status["result"]
    check_result_semantics(out)
    assert out["skill_gap"] == ["Kubernetes"]  # spelled as in job_skills
    assert [(m["best_match"], m["similarity"], m["is_match"], m["kind"]) for m in out["matching_details"]] == [
        ("python", 1.0, True, "alias"),
        (None, 0.31, False, "missing"),
        ("Lean Six Sigma", 0.62, True, "related"),
    ]
    assert out["matching_details"][2]["evidence"] == "Lean Six Sigma green belt"
    assert out["matching_details"][0]["required"] is True
    # 2 of 3 matched: 66.67 %; the course adds Kubernetes: 100 %, +33.33 points.
    assert out["match_score"] == 66.67
    (course,) = out["recommended_courses"]
    assert (course["course_name"], course["url"]) == ("Kubernetes in Practice", "https://example.org/k8s")
    assert (course["potential_score"], course["score_improvement"]) == (100.0, 33.33)


def test_fallback_to_covered_matches_and_the_gap() -> None:
    result = analysis()
    result.matching_details.matches.add(job_skill="Python", resume_skill="python", score=0.97)
    result.matching_details.matches.add(job_skill="Lean", resume_skill="Lean Six Sigma", score=0.7)
    out = seed_result(finished(result))
    assert not isinstance(out, dict) and out is not None
    assert [(m.job_skill, m.best_match, m.similarity, m.is_match) for m in out.matching_details] == [
        ("Python", "python", 0.97, True),
        ("Kubernetes", None, 0.0, False),
        ("Lean", "Lean Six Sigma", 0.7, True),
    ]
    assert all(m.required is None for m in out.matching_details)


def test_cancelled_reads_failed_with_the_reason() -> None:
    job = job_pb2.Job(id="j2", state=job_pb2.JOB_STATE_CANCELLED)
    job.error.code, job.error.message = 1, "closed the modal"
    job.estimated_wait.FromNanoseconds(2_400_000_000)
    status = seed_status(job).model_dump()
    check("status", status)
    assert status["status"] == "failed" and status["error"] == "The job was cancelled: closed the modal"
    queued = seed_status(
        job_pb2.Job(id="j3", state=job_pb2.JOB_STATE_WAITING, estimated_wait={"seconds": 2, "nanos": 300_000_000})
    )
    assert (queued.status, queued.estimated_wait_seconds) == ("queued", 3)


@pytest.mark.parametrize(
    "broken",
    [
        {"estimated_wait_seconds": 2.4},  # a float where the original has an integer
        {"estimated_wait_seconds": 3.0},  # still a float literal
        {"status": "cancelled"},  # a status the original client's poll loop never stops on
    ],
)
def test_schema_refuses_what_broke_the_original_client(broken: dict[str, object]) -> None:
    good = seed_status(job_pb2.Job(id="j4", state=job_pb2.JOB_STATE_QUEUED)).model_dump()
    check("status", good)
    with pytest.raises(jsonschema.ValidationError):
        check("status", {**good, **broken})


def test_schema_refuses_the_old_result_shape() -> None:
    old = {
        "recommended_courses": [{"title": "Learn Kafka", "potential_score": 0.75, "score_improvement": 0.25}],
        "skill_gap": ["Kafka"],
        "job_skills": ["Kafka"],
        "user_skills": [],
        "recommendations_text": "plan",
        "matching_details": {"overall_score": 0.5, "matches": []},
    }
    with pytest.raises(jsonschema.ValidationError):
        check("course_recommendation_response", old)
