"""The original REST contract (SEED.md), bare and under /api/v1: every answer validated against the contract
schema, and the original client's poll loop driven to completed and to failed (a cancel)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.gateway.seed_contract import (
    check,
    check_result_semantics,
    poll_like_the_original_client,
    render_like_the_original_page,
)
from tests.scheduler.stage_doubles import Behavior
from tests.sdk.harness import JOB_DESCRIPTION, RESUME, Stack
from tests.support import assert_eventually

SUBMIT = {"type": "course_recommendation", "payload": {"resume_text": RESUME, "job_description_text": JOB_DESCRIPTION}}


@pytest.mark.parametrize("prefix", ["", "/api/v1"])
async def test_original_client_submits_polls_and_renders(http: httpx.AsyncClient, prefix: str) -> None:
    answer = await http.post(f"{prefix}/jobs/submit", json=SUBMIT)
    assert answer.status_code == 200, answer.text
    submitted = answer.json()
    check("submitted", submitted)
    assert submitted["position_in_queue"] >= 1

    seen: list[str] = []
    final = await poll_like_the_original_client(http, prefix, submitted["job_id"], lambda s: seen.append(s["status"]))
    assert final["status"] == "completed", final
    assert final["error"] is None and final["completed_at"] and final["position_in_queue"] == 0
    result = final["result"]
    check_result_semantics(result)
    assert set(result["job_skills"]) == {"Python", "SQL", "Kubernetes", "Kafka"}
    assert set(result["skill_gap"]) == {"Kubernetes", "Kafka"}
    assert set(result["user_skills"]) >= {"Python", "SQL", "Docker"}
    # The original's score: 2 of 4 job skills matched = 50 %; each course teaches one missing skill: 75 %, +25.
    courses = {c["course_name"]: c for c in result["recommended_courses"]}
    assert set(courses) == {"Learn Kubernetes", "Learn Kafka"}
    assert all(c["potential_score"] == 75.0 and c["score_improvement"] == 25.0 for c in courses.values())
    details = {m["job_skill"]: m for m in result["matching_details"]}
    assert details["Python"] == {**details["Python"], "best_match": "Python", "similarity": 1.0, "is_match": True}
    assert details["Kafka"] == {**details["Kafka"], "best_match": None, "similarity": 0.0, "is_match": False}
    page = render_like_the_original_page(result)
    assert "Match score: 50%" in page and "Kafka -> - 0%" in page
    assert "Learn Kafka: 75.0% (https://courses.example.org/learn-kafka)" in page


@pytest.mark.parametrize("prefix", ["", "/api/v1"])
async def test_original_client_stops_on_a_cancelled_job(stack: Stack, http: httpx.AsyncClient, prefix: str) -> None:
    """A job cancelled elsewhere (the CLI, the new page) reads "failed" to the original client, whose poll loop
    knows nothing else, with an error that says it was cancelled and why: once running, once still queued."""
    stack.doubles.behaviors["ExtractEntities"] = Behavior(hang=True)
    running = (await http.post(f"{prefix}/jobs/submit", json=SUBMIT)).json()
    queued = [(await http.post(f"{prefix}/jobs/submit", json=SUBMIT)).json() for _ in range(2)]
    statuses: dict[str, list[str]] = {running["job_id"]: [], queued[-1]["job_id"]: []}

    async def watch(job_id: str) -> dict[str, Any]:
        return await poll_like_the_original_client(http, prefix, job_id, lambda s: statuses[job_id].append(s["status"]))

    polls = [asyncio.create_task(watch(running["job_id"])), asyncio.create_task(watch(queued[-1]["job_id"]))]
    await assert_eventually(lambda: "running" in statuses[running["job_id"]] and statuses[queued[-1]["job_id"]])
    for job, reason in ((running, "closed the modal"), (queued[-1], "submitted twice")):
        cancelled = await http.post(f"/v1/jobs/{job['job_id']}:cancel", json={"reason": reason})
        assert cancelled.status_code == 200, cancelled.text
    first, second = await asyncio.gather(*polls)
    assert statuses[queued[-1]["job_id"]][0] == "queued"
    for final, reason in ((first, "closed the modal"), (second, "submitted twice")):
        assert final["status"] == "failed" and final["result"] is None
        assert "cancelled" in final["error"] and reason in final["error"]
    for job in (running, queued[0]):
        await http.post(f"/v1/jobs/{job['job_id']}:cancel")


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"resume_text": "", "job_description_text": JOB_DESCRIPTION}, "payload.resume_text: must not be empty"),
        ({"job_description_text": JOB_DESCRIPTION}, "payload.resume_text: is required"),
        ({"resume_text": RESUME, "job_description_text": " \n "}, "payload.job_description_text: must not be empty"),
    ],
)
async def test_empty_or_missing_text_is_400(http: httpx.AsyncClient, payload: dict[str, str], words: str) -> None:
    answer = await http.post("/jobs/submit", json={"type": "course_recommendation", "payload": payload})
    assert answer.status_code == 400
    check("error", answer.json())
    assert answer.json()["detail"] == words


async def test_malformed_body_is_400_with_detail(http: httpx.AsyncClient) -> None:
    answer = await http.post("/api/v1/jobs/submit", json={"type": "course_recommendation", "payload": "nope"})
    assert answer.status_code == 400
    check("error", answer.json())
    assert answer.json()["field_violations"][0]["field"] == "payload"


async def test_unknown_job_is_404(http: httpx.AsyncClient) -> None:
    for prefix in ("", "/api/v1"):
        answer = await http.get(f"{prefix}/jobs/status/does-not-exist")
        assert answer.status_code == 404
        check("error", answer.json())


async def test_queue_status_shape(http: httpx.AsyncClient) -> None:
    await http.post("/jobs/submit", json=SUBMIT)
    for prefix in ("", "/api/v1"):
        body = (await http.get(f"{prefix}/jobs/queue/status")).json()
        check("queue_status", body)
        assert body["worker_running"] is True
        assert body["total_jobs"] >= 1
        assert set(body["jobs_by_status"]) == {"queued", "running", "completed", "failed"}
