"""The original REST contract (SEED.md) as checks: the JSON Schema in seed_contract.schema.json, validated with
JSON integers kept apart from floats, and the original client's behaviour: its poll loop and what its page
computes from a result."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(__file__).with_name("seed_contract.schema.json")
TERMINAL = ("completed", "failed")


def _strict_integer(checker: Any, instance: object) -> bool:
    # The original's models send integer literals; JSON Schema's "integer" would also take 3.0.
    return isinstance(instance, int) and not isinstance(instance, bool)


@cache
def _validator_class() -> Any:
    checker = Draft202012Validator.TYPE_CHECKER.redefine("integer", _strict_integer)
    return jsonschema.validators.extend(Draft202012Validator, type_checker=checker)


def check(kind: str, body: object) -> None:
    """Validates `body` against $defs/<kind> of the contract schema; raises ValidationError."""
    schema = json.loads(SCHEMA_PATH.read_text())
    validator = _validator_class()({"$ref": f"#/$defs/{kind}", "$defs": schema["$defs"]})
    validator.validate(body)


def check_result_semantics(result: dict[str, Any]) -> None:
    """What JSON Schema cannot say, as SEED.md states it: skill_gap is a subset of job_skills spelled
    identically; matching_details has one entry per job skill; scores are in percent as the original computes."""
    job_skills, gap = result["job_skills"], result["skill_gap"]
    assert set(gap) <= set(job_skills), f"skill_gap {gap} is not a subset of job_skills {job_skills}"
    assert [m["job_skill"] for m in result["matching_details"]] == job_skills
    original_current = round(100 * (len(job_skills) - len(gap)) / len(job_skills), 2) if job_skills else 0.0
    for course in result["recommended_courses"]:
        assert course["potential_score"] >= original_current - 1e-9
        expected = max(0.0, course["potential_score"] - original_current)
        assert abs(course["score_improvement"] - expected) < 0.011, (course, original_current)


def client_match_score(result: dict[str, Any]) -> int:
    """The original page's match score: round(100 x |job_skills not in skill_gap| / |job_skills|)."""
    job_skills = result["job_skills"]
    matched = [s for s in job_skills if s not in result["skill_gap"]]
    return js_round(100 * len(matched) / len(job_skills)) if job_skills else 0


def js_round(value: float) -> int:
    """JavaScript's Math.round (halves round up, where Python's round goes to even)."""
    return math.floor(value + 0.5)


def render_like_the_original_page(result: dict[str, Any]) -> list[str]:
    """The lines the original page prints from a result: course titles with `potential_score.toFixed(1)%`,
    and `matching_details.map(...)` with `Math.round(similarity x 100)%`."""
    lines = [f"Match score: {client_match_score(result)}%"]
    lines += [f"{c['course_name']}: {c['potential_score']:.1f}% ({c['url']})" for c in result["recommended_courses"]]
    lines += [
        f"{m['job_skill']} -> {m['best_match'] or '-'} {js_round(m['similarity'] * 100)}%"
        for m in result["matching_details"]
    ]
    return lines


async def poll_like_the_original_client(
    http: httpx.AsyncClient,
    prefix: str,
    job_id: str,
    on_status: Callable[[dict[str, Any]], object] | None = None,
    *,
    give_up_after: float = 30.0,
) -> dict[str, Any]:
    """The original client's pollJobStatus: GET the status, stop on completed or failed, else wait 200 ms, then
    1.5 times longer each time, at most 2 s. Every answer is checked against the contract. The client itself
    polls forever on any other status; this one gives up after `give_up_after` seconds so a test can fail."""
    delay = 0.2
    started = time.monotonic()
    while True:
        answer = await http.get(f"{prefix}/jobs/status/{job_id}")
        assert answer.status_code == 200, answer.text
        status: dict[str, Any] = answer.json()
        check("status", status)
        if on_status is not None:
            on_status(status)
        if status["status"] in TERMINAL:
            return status
        if time.monotonic() - started > give_up_after:
            raise AssertionError(f"the original client would still be polling: last status {status['status']!r}")
        await asyncio.sleep(delay)  # the client's own backoff, the behaviour under test
        delay = min(delay * 1.5, 2.0)
