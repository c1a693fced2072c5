"""The original REST contract (SEED.md), bare and under /api/v1."""

from __future__ import annotations

import httpx
import pytest

from tests.sdk.harness import JOB_DESCRIPTION, RESUME
from tests.support import assert_eventually

SUBMIT = {"type": "course_recommendation", "payload": {"resume_text": RESUME, "job_description_text": JOB_DESCRIPTION}}


@pytest.mark.parametrize("prefix", ["", "/api/v1"])
async def test_submit_then_status_until_completed(http: httpx.AsyncClient, prefix: str) -> None:
    answer = await http.post(f"{prefix}/jobs/submit", json=SUBMIT)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"job_id", "status", "position_in_queue", "estimated_wait_seconds", "message"}
    assert body["status"] == "queued"
    assert isinstance(body["position_in_queue"], int) and body["position_in_queue"] >= 1
    assert isinstance(body["estimated_wait_seconds"], float)

    async def completed() -> dict[str, object] | None:
        status = (await http.get(f"{prefix}/jobs/status/{body['job_id']}")).json()
        return status if status["status"] == "completed" else None

    status = await assert_eventually(completed)
    for key in ("job_id", "position_in_queue", "estimated_wait_seconds", "error", "created_at", "started_at"):
        assert key in status
    assert status["completed_at"] and status["error"] is None and status["position_in_queue"] == 0
    result = status["result"]
    assert set(result["skill_gap"]) == {"Kubernetes", "Kafka"}
    assert set(result["job_skills"]) == {"Python", "SQL", "Kubernetes", "Kafka"}
    assert set(result["user_skills"]) >= {"Python", "SQL", "Docker"}
    assert isinstance(result["recommendations_text"], str)
    assert isinstance(result["matching_details"]["overall_score"], float)
    course = result["recommended_courses"][0]
    assert {"id", "title", "skills", "level", "rationale", "potential_score", "score_improvement"} <= set(course)
    assert isinstance(course["potential_score"], float) and course["score_improvement"] == pytest.approx(0.25)


@pytest.mark.parametrize(
    "payload",
    [
        {"resume_text": "", "job_description_text": JOB_DESCRIPTION},
        {"job_description_text": JOB_DESCRIPTION},
        {"resume_text": RESUME, "job_description_text": "   "},
    ],
)
async def test_empty_or_missing_text_is_400(http: httpx.AsyncClient, payload: dict[str, str]) -> None:
    answer = await http.post("/jobs/submit", json={"type": "course_recommendation", "payload": payload})
    assert answer.status_code == 400
    assert "must not be empty" in answer.json()["detail"]


async def test_malformed_body_is_422(http: httpx.AsyncClient) -> None:
    answer = await http.post("/api/v1/jobs/submit", json={"type": "course_recommendation", "payload": "nope"})
    assert answer.status_code == 422


async def test_unknown_job_is_404(http: httpx.AsyncClient) -> None:
    for prefix in ("", "/api/v1"):
        answer = await http.get(f"{prefix}/jobs/status/does-not-exist")
        assert answer.status_code == 404
        assert answer.json()["detail"]


async def test_queue_status_shape(http: httpx.AsyncClient) -> None:
    await http.post("/jobs/submit", json=SUBMIT)
    body = (await http.get("/jobs/queue/status")).json()
    assert {"queue_size", "total_jobs", "worker_running", "jobs_by_status"} <= set(body)
    assert body["worker_running"] is True
    assert body["total_jobs"] >= 1
    assert set(body["jobs_by_status"]) == {"queued", "running", "completed", "failed", "cancelled"}
