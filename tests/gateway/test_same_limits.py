"""The same input limits over REST and over gRPC: each bad value is a 400 INVALID_ARGUMENT naming the field on
the gateway exactly when SubmitJob answers INVALID_ARGUMENT naming it, and each value at the limit passes both."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest
from skillbridge_client import AsyncSchedulerClient, InvalidRequest

from tests.gateway.error_shape import assert_error, violated_fields
from tests.sdk.harness import JOB_DESCRIPTION, RESUME, Stack

DAY = 24 * 3600.0
# REST field name -> SubmitJobRequest field name, where they differ.
GRPC_FIELD = {"delay_seconds": "delay"}

CASES: list[tuple[str, dict[str, Any], str | None]] = [
    ("threshold above 1", {"threshold": 3.0}, "course_recommendation.threshold"),
    ("threshold below 0", {"threshold": -0.5}, "course_recommendation.threshold"),
    ("threshold NaN", {"threshold": math.nan}, "course_recommendation.threshold"),
    ("threshold at 1", {"threshold": 1.0}, None),
    ("priority above max_priority", {"priority": 10}, "priority"),
    ("priority below 0", {"priority": -1}, "priority"),
    ("priority at max_priority", {"priority": 9}, None),
    ("request_id too long", {"request_id": "r" * 129}, "request_id"),
    ("request_id at the limit", {"request_id": "r" * 128}, None),
    ("delay over 30 days", {"delay": 30 * DAY + 1}, "delay_seconds"),
    ("delay below 0", {"delay": -1.0}, "delay_seconds"),
    ("delay of 30 days", {"delay": 30 * DAY}, None),
    ("empty resume", {"resume_text": "  "}, "course_recommendation.resume_text"),
    ("resume over max_text_bytes", {"resume_text": "x" * 200_001}, "course_recommendation.resume_text"),
    ("resume at max_text_bytes", {"resume_text": "x" * 200_000}, None),
]


def rest_body(args: dict[str, Any]) -> dict[str, Any]:
    analysis = {
        "resume_text": args.get("resume_text", RESUME),
        "job_description_text": JOB_DESCRIPTION,
        "threshold": args.get("threshold", 0.5),
    }
    body: dict[str, Any] = {"course_recommendation": analysis, "priority": args.get("priority", 0)}
    if "request_id" in args:
        body["request_id"] = args["request_id"]
    if "delay" in args:
        body["delay_seconds"] = args["delay"]
    return body


async def grpc_fields(client: AsyncSchedulerClient, args: dict[str, Any]) -> list[str] | None:
    """The fields SubmitJob names, or None when it accepts the job."""
    try:
        await client.submit_analysis(
            args.get("resume_text", RESUME),
            JOB_DESCRIPTION,
            threshold=args.get("threshold", 0.5),
            priority=args.get("priority", 0),
            request_id=args.get("request_id"),
            delay=args.get("delay"),
        )
    except InvalidRequest as exc:
        return [v.field for v in exc.field_violations]
    return None


@pytest.mark.parametrize(("case", "args", "field"), CASES, ids=[c[0] for c in CASES])
async def test_rest_and_grpc_agree(
    stack: Stack, http: httpx.AsyncClient, case: str, args: dict[str, Any], field: str | None
) -> None:
    async with AsyncSchedulerClient(stack.address) as client:
        over_grpc = await grpc_fields(client, args)
    # json.dumps writes NaN as the bare token NaN, as careless JSON writers do (strict JSON has no NaN).
    raw = json.dumps(rest_body(args))
    answer = await http.post("/v1/jobs", content=raw, headers={"content-type": "application/json"})
    if field is None:
        assert over_grpc is None, over_grpc
        assert answer.status_code == 202, answer.text
        return
    assert over_grpc is not None and GRPC_FIELD.get(field, field) in over_grpc, (case, over_grpc)
    assert_error(answer, 400, "INVALID_ARGUMENT")
    assert field in violated_fields(answer), answer.text
