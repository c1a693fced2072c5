"""The v1 routes, the gRPC -> HTTP error table, ops endpoints and static files."""

from __future__ import annotations

import base64

import httpx
from skillbridge_client import AsyncSchedulerClient

from gateway.app import create_app
from services.common.settings import Settings
from tests.scheduler.stage_doubles import Behavior
from tests.sdk.harness import JOB_DESCRIPTION, RESUME, Stack, running_stack
from tests.support import assert_eventually

ANALYSIS = {"course_recommendation": {"resume_text": RESUME, "job_description_text": JOB_DESCRIPTION}}


async def test_submit_get_list_queue(http: httpx.AsyncClient) -> None:
    submitted = await http.post("/v1/jobs", json=ANALYSIS)
    assert submitted.status_code == 202
    job = submitted.json()
    assert submitted.headers["Location"] == f"/v1/jobs/{job['id']}"
    assert (await http.get(submitted.headers["Location"])).json()["id"] == job["id"]
    assert job["state"] == "JOB_STATE_QUEUED" and isinstance(job["position_in_queue"], int)
    assert len(job["stages"]) == 6

    async def succeeded() -> bool:
        got = (await http.get(f"/v1/jobs/{job['id']}")).json()
        return bool(got["state"] == "JOB_STATE_SUCCEEDED")

    await assert_eventually(succeeded)
    got = (await http.get(f"/v1/jobs/{job['id']}")).json()
    assert got["progress"] == 1.0 and isinstance(got["last_sequence"], int)
    assert got["course_recommendation_result"]["skill_gap"]
    listed = (await http.get("/v1/jobs", params={"state": "completed"})).json()
    assert job["id"] in [j["id"] for j in listed["jobs"]]
    assert (await http.get("/v1/jobs", params={"state": "bogus"})).status_code == 400
    queue = (await http.get("/v1/queue")).json()
    assert queue["healthy"] is True and queue["jobs_by_state"]["JOB_STATE_SUCCEEDED"] >= 1


async def test_noop_job_round_trip(http: httpx.AsyncClient) -> None:
    payload = base64.b64encode(b"hello").decode()
    job = (await http.post("/v1/jobs", json={"type": "noop", "noop": {"payload": payload}})).json()

    async def result() -> object:
        return (await http.get(f"/v1/jobs/{job['id']}")).json().get("noop_result")

    assert (await assert_eventually(result))["payload"] == payload


async def test_cancel_both_routes_then_409(stack: Stack, http: httpx.AsyncClient) -> None:
    stack.doubles.behaviors["ExtractEntities"] = Behavior(hang=True)
    first = (await http.post("/v1/jobs", json=ANALYSIS)).json()
    second = (await http.post("/v1/jobs", json=ANALYSIS)).json()
    cancelled = await http.post(f"/v1/jobs/{first['id']}:cancel", json={"reason": "test"})
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "JOB_STATE_CANCELLED"
    cancelled = await http.post(f"/v1/jobs/{second['id']}/cancel")
    assert cancelled.json()["state"] == "JOB_STATE_CANCELLED"
    again = await http.post(f"/v1/jobs/{first['id']}:cancel")
    assert again.status_code == 409 and again.json()["code"] == "FAILED_PRECONDITION"
    assert (await http.post("/v1/jobs/nope:cancel")).status_code == 404


async def test_invalid_argument_is_400_with_violations(http: httpx.AsyncClient) -> None:
    body = {"course_recommendation": {"resume_text": "", "job_description_text": JOB_DESCRIPTION}}
    answer = await http.post("/v1/jobs", json=body)
    assert answer.status_code == 400
    assert any("resume_text" in v["field"] for v in answer.json()["field_violations"])
    wrong_type = await http.post("/v1/jobs", json={"priority": "high"})
    assert wrong_type.status_code == 400
    assert wrong_type.json()["code"] == "INVALID_ARGUMENT"
    assert [v["field"] for v in wrong_type.json()["field_violations"]] == ["priority"]


async def test_queue_full_is_429_with_retry_after(settings: Settings) -> None:
    async with (
        running_stack(settings, max_queue_depth=1, run_dispatcher=False) as stack,
        AsyncSchedulerClient(stack.address) as client,
    ):
        app = create_app(stack.settings, client=client)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
            assert (await http.post("/v1/jobs", json=ANALYSIS)).status_code == 202
            refused = await http.post("/jobs/submit", json={"payload": ANALYSIS["course_recommendation"]})
            assert refused.status_code == 429
            assert int(refused.headers["Retry-After"]) >= 1
            assert refused.json()["detail"] and refused.json()["code"] == "RESOURCE_EXHAUSTED"
            assert refused.json()["reason"] == "QUEUE_FULL"
            assert refused.json()["retry_after_seconds"] > 0


async def test_unreachable_scheduler_is_503(settings: Settings) -> None:
    async with AsyncSchedulerClient("127.0.0.1:1", timeout=2.0) as client:
        app = create_app(settings, client=client)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
            answer = await http.get("/v1/queue")
            assert answer.status_code == 503, answer.text
            assert answer.json()["code"] == "UNAVAILABLE" and int(answer.headers["Retry-After"]) >= 1


async def test_ops_docs_and_static(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    await http.get("/v1/queue")
    metrics = (await http.get("/metrics")).text
    assert 'skillbridge_gateway_requests_total{method="GET",route="/v1/queue",status="200"} 1.0' in metrics
    assert (await http.get("/docs")).status_code == 200
    paths = (await http.get("/openapi.json")).json()["paths"]
    assert {"/v1/jobs", "/jobs/submit", "/api/v1/jobs/submit", "/v1/jobs/{job_id}/events"} <= set(paths)
    page = await http.get("/")
    assert page.status_code == 200 and "/static/job-api.js" in page.text
    script = await http.get("/static/job-api.js")
    assert script.status_code == 200 and "export function submitJob" in script.text
