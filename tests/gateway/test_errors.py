"""One error shape for every route and status, and hostile input (issue: NaN, huge numbers, lone surrogates,
oversized ids, overflowing Last-Event-ID) answered as a 400 naming the field: never a 500, never an echo of
unbounded input, never a 429 for a user error."""

from __future__ import annotations

import json

import httpx
import pytest
from skillbridge_client import AsyncSchedulerClient

from gateway.app import create_app
from tests.gateway.error_shape import assert_error, violated_fields
from tests.sdk.harness import JOB_DESCRIPTION, RESUME, Stack

HUGE_ID = "x" * 100_000
LONG_ID = "x" * 10_000  # within the 64 KiB a URL may have
ANALYSIS = {"resume_text": RESUME, "job_description_text": JOB_DESCRIPTION}


def v1_analysis(threshold: str = "0.5", resume: str = json.dumps(RESUME), extra: str = "") -> str:
    body = f'"resume_text": {resume}, "job_description_text": {json.dumps(JOB_DESCRIPTION)}, "threshold": {threshold}'
    return '{"course_recommendation": {' + body + "}" + extra + "}"


def seed_analysis(threshold: str = "0.5", resume: str = json.dumps(RESUME)) -> str:
    body = f'"resume_text": {resume}, "job_description_text": {json.dumps(JOB_DESCRIPTION)}, "threshold": {threshold}'
    return '{"type": "course_recommendation", "payload": {' + body + "}}"


HOSTILE_BODIES = [
    ("/v1/jobs", v1_analysis("NaN"), "course_recommendation.threshold"),
    ("/v1/jobs", v1_analysis("1e999"), "course_recommendation.threshold"),
    ("/v1/jobs", v1_analysis("-Infinity"), "course_recommendation.threshold"),
    ("/v1/jobs", v1_analysis("3"), "course_recommendation.threshold"),
    ("/v1/jobs", v1_analysis(extra=', "priority": 2147483648'), "priority"),
    ("/v1/jobs", v1_analysis(extra=', "priority": 99999999999999999999999'), "priority"),
    ("/v1/jobs", v1_analysis(extra=', "priority": -1'), "priority"),
    ("/v1/jobs", v1_analysis(extra=', "delay_seconds": 1e300'), "delay_seconds"),
    ("/v1/jobs", v1_analysis(extra=', "delay_seconds": NaN'), "delay_seconds"),
    ("/v1/jobs", v1_analysis(resume='"Python \\ud800 SQL"'), "course_recommendation.resume_text"),
    ("/v1/jobs", v1_analysis(extra=', "request_id": "\\udfff"'), "request_id"),
    ("/v1/jobs", v1_analysis(extra=f', "request_id": "{HUGE_ID}"'), "request_id"),
    ("/v1/jobs", v1_analysis(extra=f', "depends_on": ["{HUGE_ID}"]'), "depends_on[0]"),
    ("/v1/jobs", v1_analysis(extra=f', "depends_on": {json.dumps(["j"] * 101)}'), "depends_on"),
    ("/v1/jobs", '{"type": "noop", "noop": {"payload": "not base64!"}}', "noop.payload"),
    ("/v1/jobs", '{"type": "course_recommendation"}', "course_recommendation"),
    ("/v1/jobs", "{not json", "body"),
    ("/jobs/submit", seed_analysis("NaN"), "payload.threshold"),
    ("/jobs/submit", seed_analysis("1e999"), "payload.threshold"),
    ("/api/v1/jobs/submit", seed_analysis("3"), "payload.threshold"),
    ("/jobs/submit", seed_analysis(resume='"\\ud800"'), "payload.resume_text"),
    ("/jobs/submit", '{"type": "image_generation", "payload": {}}', "type"),
]


@pytest.mark.parametrize(("path", "raw", "field"), HOSTILE_BODIES)
async def test_hostile_body_is_400_naming_the_field(http: httpx.AsyncClient, path: str, raw: str, field: str) -> None:
    answer = await http.post(
        path, content=raw.encode("utf-8", "surrogatepass"), headers={"content-type": "application/json"}
    )
    body = assert_error(answer, 400, "INVALID_ARGUMENT")
    assert field in violated_fields(answer), body
    assert len(answer.content) < 4096 and "x" * 100 not in answer.text  # nothing unbounded is echoed


@pytest.mark.parametrize(
    ("method", "path", "headers", "field"),
    [
        ("GET", f"/v1/jobs/{LONG_ID}", {}, "job_id"),
        ("GET", f"/jobs/status/{LONG_ID}", {}, "job_id"),
        ("GET", f"/api/v1/jobs/status/{LONG_ID}", {}, "job_id"),
        ("POST", f"/v1/jobs/{LONG_ID}:cancel", {}, "job_id"),
        ("GET", f"/v1/jobs/{LONG_ID}/events", {}, "job_id"),
        ("GET", "/v1/jobs/j1/events", {"Last-Event-ID": "99999999999999999999999"}, "Last-Event-ID"),
        ("GET", "/v1/jobs/j1/events", {"Last-Event-ID": "-1"}, "Last-Event-ID"),
        ("GET", "/v1/jobs/j1/events", {"Last-Event-ID": "x"}, "Last-Event-ID"),
        ("GET", "/v1/jobs/j1/events?after_sequence=99999999999999999999999", {}, "after_sequence"),
        ("GET", "/v1/jobs?page_size=1000000000000000000000", {}, "page_size"),
        ("GET", "/v1/jobs?state=bogus", {}, "state[0]"),
        ("GET", f"/v1/jobs?page_token={LONG_ID}", {}, "page_token"),
    ],
)
async def test_hostile_parameter_is_400_naming_it(
    http: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], field: str
) -> None:
    answer = await http.request(method, path, headers=headers)
    assert_error(answer, 400, "INVALID_ARGUMENT")
    assert field in violated_fields(answer)
    assert len(answer.content) < 4096


async def test_cancel_reason_is_bounded(http: httpx.AsyncClient) -> None:
    job = (await http.post("/v1/jobs", json={"type": "noop", "delay_seconds": 3600})).json()
    answer = await http.post(f"/v1/jobs/{job['id']}:cancel", json={"reason": HUGE_ID})
    assert_error(answer, 400)
    assert violated_fields(answer) == ["reason"]


async def test_many_unknown_dependencies_are_a_user_error_not_429(http: httpx.AsyncClient) -> None:
    """The scheduler's answer to 100 unknown ids outgrows gRPC's metadata limit (RESOURCE_EXHAUSTED without
    RetryInfo): a client that retries on 429 would retry this forever, so it reads 400."""
    ids = [f"{i:022x}" for i in range(100)]
    answer = await http.post("/v1/jobs", json={"type": "noop", "depends_on": ids})
    assert_error(answer, 400, "INVALID_ARGUMENT")
    assert answer.headers.get("Retry-After") is None


async def test_every_status_has_the_one_shape(stack: Stack, http: httpx.AsyncClient) -> None:
    assert_error(await http.get("/no/such/route"), 404, "NOT_FOUND")
    assert_error(await http.get("/v1/jobs/does-not-exist"), 404, "NOT_FOUND")
    not_allowed = await http.get("/jobs/submit")
    assert_error(not_allowed, 405, "METHOD_NOT_ALLOWED")
    assert not_allowed.headers["Allow"] == "POST"
    job = (await http.post("/v1/jobs", json={"type": "noop", "delay_seconds": 3600})).json()
    await http.post(f"/v1/jobs/{job['id']}:cancel")
    assert_error(await http.post(f"/v1/jobs/{job['id']}:cancel"), 409, "FAILED_PRECONDITION")
    assert_error(await http.post("/v1/extract-text", files={"file": ("cv.exe", b"MZ")}), 415)
    assert_error(await http.post("/v1/extract-text", files={"wrong": ("cv.txt", b"x")}), 400, "INVALID_ARGUMENT")
    assert_error(await http.post("/v1/jobs", content=b"[]", headers={"content-type": "application/json"}), 400)


async def test_body_over_the_message_limit_is_413(stack: Stack) -> None:
    settings = stack.settings.replace(max_message_bytes=1000)
    async with AsyncSchedulerClient(stack.address) as client:
        app = create_app(settings, client=client)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
            big = {"payload": {**ANALYSIS, "resume_text": "Python " * 500}}
            assert_error(await http.post("/jobs/submit", json=big), 413, "PAYLOAD_TOO_LARGE")

            async def chunks():  # no Content-Length: counted as it arrives
                for _ in range(10):
                    yield b" " * 200

            streamed = await http.post("/v1/jobs", content=chunks(), headers={"content-type": "application/json"})
            assert_error(streamed, 413, "PAYLOAD_TOO_LARGE")
            assert (await http.post("/jobs/submit", json={"payload": ANALYSIS})).status_code == 200


async def test_text_over_max_text_bytes_is_the_schedulers_field_error(stack: Stack, http: httpx.AsyncClient) -> None:
    limit = stack.settings.max_text_bytes
    answer = await http.post("/jobs/submit", json={"payload": {**ANALYSIS, "resume_text": "é" * limit}})
    assert_error(answer, 400, "INVALID_ARGUMENT")
    assert violated_fields(answer) == ["payload.resume_text"]
    assert f"the limit is {limit}" in answer.json()["field_violations"][0]["description"]


async def test_many_violations_are_counted_not_listed(http: httpx.AsyncClient) -> None:
    body = {"type": "noop", "depends_on": [f"\ud800{i}" for i in range(30)]}
    raw = json.dumps(body).encode()
    answer = await http.post("/v1/jobs", content=raw, headers={"content-type": "application/json"})
    violations = assert_error(answer, 400)["field_violations"]
    assert len(violations) == 21 and violations[-1] == {"field": "(more)", "description": "10 more fields are invalid"}
