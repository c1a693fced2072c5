"""Bearer keys through the gateway: owners see only their own jobs; no key is 401 when keys are configured."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from skillbridge_client import AsyncSchedulerClient

from gateway.app import create_app
from services.common.settings import Settings
from tests.scheduler.stage_doubles import Behavior
from tests.sdk.harness import JOB_DESCRIPTION, RESUME, running_stack

ALICE = {"Authorization": "Bearer key-alice"}
BOB = {"Authorization": "Bearer key-bob"}
ANALYSIS = {"course_recommendation": {"resume_text": RESUME, "job_description_text": JOB_DESCRIPTION}}


@pytest.fixture
async def keyed(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_stack(settings, api_keys="key-alice=alice,key-bob=bob") as stack:
        stack.doubles.behaviors["ExtractEntities"] = Behavior(hang=True)
        async with AsyncSchedulerClient(stack.address) as client:
            app = create_app(stack.settings, client=client)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
                yield http


async def test_second_owner_cannot_touch_first_owners_job(keyed: httpx.AsyncClient) -> None:
    job = (await keyed.post("/v1/jobs", json=ANALYSIS, headers=ALICE)).json()
    assert job["owner"] == "alice"
    assert (await keyed.get(f"/v1/jobs/{job['id']}", headers=BOB)).status_code == 404
    assert (await keyed.get(f"/jobs/status/{job['id']}", headers=BOB)).status_code == 404
    assert (await keyed.get(f"/v1/jobs/{job['id']}/events", headers=BOB)).status_code == 404
    assert (await keyed.post(f"/v1/jobs/{job['id']}:cancel", headers=BOB)).status_code == 404
    assert (await keyed.get("/v1/jobs", headers=BOB)).json()["jobs"] == []
    assert [j["id"] for j in (await keyed.get("/v1/jobs", headers=ALICE)).json()["jobs"]] == [job["id"]]
    assert (await keyed.get(f"/v1/jobs/{job['id']}", headers=ALICE)).status_code == 200
    cancelled = await keyed.post(f"/v1/jobs/{job['id']}:cancel", headers=ALICE)
    assert cancelled.json()["state"] == "JOB_STATE_CANCELLED"


async def test_missing_or_unknown_key_is_401(keyed: httpx.AsyncClient) -> None:
    missing = await keyed.get("/v1/queue")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert (await keyed.post("/jobs/submit", json={"payload": ANALYSIS["course_recommendation"]})).status_code == 401
    assert (await keyed.get("/v1/queue", headers={"Authorization": "Bearer wrong"})).status_code == 401
    assert (await keyed.get("/v1/queue", headers=ALICE)).status_code == 200


async def test_access_token_only_on_the_event_stream(keyed: httpx.AsyncClient) -> None:
    """EventSource cannot send headers, so the event stream takes ?access_token=; no other route does."""
    job = (await keyed.post("/v1/jobs", json=ANALYSIS, headers=ALICE)).json()
    assert (await keyed.get(f"/v1/jobs/{job['id']}/events", params={"access_token": "key-bob"})).status_code == 404
    assert (await keyed.get(f"/v1/jobs/{job['id']}/events", params={"access_token": "wrong"})).status_code == 401
    async with keyed.stream("GET", f"/v1/jobs/{job['id']}/events", params={"access_token": "key-alice"}) as stream:
        assert stream.status_code == 200
    refused = await keyed.get(f"/v1/jobs/{job['id']}", params={"access_token": "key-alice"})
    assert refused.status_code == 400
    assert refused.json()["field_violations"][0]["field"] == "access_token"
    assert "key-alice" not in refused.text
    assert (await keyed.get("/v1/queue", params={"access_token": "key-alice"}, headers=ALICE)).status_code == 400


async def test_malformed_keys_are_401_not_500(keyed: httpx.AsyncClient) -> None:
    for key in ("k" * 10_000, "caf\u00e9-key"):
        answer = await keyed.get("/v1/queue", headers={"Authorization": f"Bearer {key}".encode()})
        assert answer.status_code == 401, answer.text
        assert answer.json()["code"] == "UNAUTHENTICATED"


async def first_two_submits(settings: Settings, key: dict[str, str], **limits: object) -> httpx.Response:
    """The second of two submits by one owner under `limits`, with nothing running."""
    async with (
        running_stack(settings, api_keys="key-alice=alice,key-bob=bob", run_dispatcher=False, **limits) as stack,
        AsyncSchedulerClient(stack.address) as client,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(stack.settings, client=client)), base_url="http://gw"
        ) as http,
    ):
        assert (await http.post("/v1/jobs", json=ANALYSIS, headers=key)).status_code == 202
        return await http.post("/jobs/submit", json={"payload": ANALYSIS["course_recommendation"]}, headers=key)


async def test_a_rate_limit_and_a_quota_say_which_they_are(settings: Settings) -> None:
    rate = await first_two_submits(settings, ALICE, standard_submit_rate=0.01, standard_submit_burst=1)
    quota = await first_two_submits(settings, BOB, standard_max_queued=1)
    assert rate.status_code == quota.status_code == 429
    assert (rate.json()["code"], rate.json()["reason"]) == ("RESOURCE_EXHAUSTED", "RATE_LIMITED")
    assert (quota.json()["code"], quota.json()["reason"]) == ("RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED")
    assert "retry in 100 s" in rate.json()["detail"] and rate.headers["Retry-After"] == "100"
