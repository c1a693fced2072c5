"""Delayed and dependent jobs through the REST gateway: v1 shows SCHEDULED and WAITING, the seed routes say
"queued" (the seed contract has no such states)."""

from __future__ import annotations

import httpx

ANALYSIS = {"resume_text": "Python and SQL", "job_description_text": "Python, SQL and Kafka"}


async def test_delayed_job_is_scheduled_and_seed_says_queued(http: httpx.AsyncClient) -> None:
    answer = await http.post("/v1/jobs", json={"course_recommendation": ANALYSIS, "delay_seconds": 3600})
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert job["state"] == "JOB_STATE_SCHEDULED" and job["not_before"]
    seed = (await http.get(f"/jobs/status/{job['id']}")).json()
    assert seed["status"] == "queued"
    listed = (await http.get("/v1/jobs", params={"state": "scheduled"})).json()
    assert [j["id"] for j in listed["jobs"]] == [job["id"]]
    assert (await http.post(f"/v1/jobs/{job['id']}:cancel")).json()["state"] == "JOB_STATE_CANCELLED"


async def test_dependent_job_waits_then_runs(http: httpx.AsyncClient) -> None:
    first = (await http.post("/v1/jobs", json={"course_recommendation": ANALYSIS, "delay_seconds": 3600})).json()
    second = await http.post("/v1/jobs", json={"type": "noop", "depends_on": [first["id"]]})
    assert second.status_code == 202, second.text
    assert second.json()["state"] == "JOB_STATE_WAITING"
    assert second.json()["depends_on"] == [first["id"]]
    await http.post(f"/v1/jobs/{first['id']}:cancel")
    after = (await http.get(f"/v1/jobs/{second.json()['id']}")).json()
    assert after["state"] == "JOB_STATE_CANCELLED"
    assert first["id"] in after["error"]["message"]


async def test_unknown_dependency_is_400_with_the_field(http: httpx.AsyncClient) -> None:
    answer = await http.post("/v1/jobs", json={"type": "noop", "depends_on": ["nope"]})
    assert answer.status_code == 400
    assert "depends_on[0]" in answer.text
