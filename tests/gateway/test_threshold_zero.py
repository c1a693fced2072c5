"""`threshold: 0` is honoured through the gateway (the /v1 route and the original contract, bare and under
/api/v1) and the SDK: the similarity stage is asked for strictness 0; a body without a threshold gets 0.5."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from skillbridge_client import AsyncSchedulerClient

from tests.sdk.harness import JOB_DESCRIPTION, RESUME, Stack
from tests.support import assert_eventually

TEXTS = {"resume_text": RESUME, "job_description_text": JOB_DESCRIPTION}


async def finished(http: httpx.AsyncClient, job_id: str) -> None:
    async def done() -> bool:
        got = (await http.get(f"/v1/jobs/{job_id}")).json()
        return bool(got["state"] == "JOB_STATE_SUCCEEDED")

    await assert_eventually(done)


def v1_body(threshold: float | None) -> dict[str, Any]:
    given: dict[str, Any] = dict(TEXTS) | ({} if threshold is None else {"threshold": threshold})
    return {"type": "course_recommendation", "course_recommendation": given, "skip_cache": True}


def seed_body(threshold: float | None) -> dict[str, Any]:
    # Each submit with other text, so no answer comes from the result cache (the seed route has no skip_cache).
    given: dict[str, Any] = TEXTS | {"resume_text": f"{RESUME} ({threshold})"}
    return {"type": "course_recommendation", "payload": given | ({} if threshold is None else {"threshold": threshold})}


@pytest.mark.parametrize("threshold, used", [(0.0, 0.0), (None, 0.5), (0.3, 0.3)])
@pytest.mark.parametrize("route", ["/v1/jobs", "/jobs/submit", "/api/v1/jobs/submit"])
async def test_the_threshold_reaches_the_similarity_stage_as_given(
    stack: Stack, http: httpx.AsyncClient, route: str, threshold: float | None, used: float
) -> None:
    body = v1_body(threshold) if route == "/v1/jobs" else seed_body(threshold)
    answer = await http.post(route, json=body)
    assert answer.status_code in (200, 202), answer.text
    await finished(http, answer.json().get("id") or answer.json()["job_id"])
    sent = stack.doubles.requests["CompareSkills"]
    assert sent.HasField("threshold") and sent.threshold == used


async def test_the_sdk_sends_zero_as_zero(stack: Stack, http: httpx.AsyncClient) -> None:
    async with AsyncSchedulerClient(stack.address) as client:
        job = await client.submit_analysis(f"{RESUME} (sdk)", JOB_DESCRIPTION, threshold=0.0)
    await finished(http, job.id)
    sent = stack.doubles.requests["CompareSkills"]
    assert sent.HasField("threshold") and sent.threshold == 0.0
