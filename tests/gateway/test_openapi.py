"""The OpenAPI document: every route's answers typed (no bare `object`), every error documented with the one
shape, no FastAPI 422, and the v1 schemas matching proto JSON as the routes write it."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
from skillbridge.scheduler.v1 import job_pb2

from gateway.convert import to_json


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


async def test_every_answer_is_typed_and_every_error_has_the_one_shape(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    operations = [(path, method, op) for path, ops in document["paths"].items() for method, op in ops.items()]
    assert len(operations) >= 15
    for path, method, operation in operations:
        label = f"{method.upper()} {path}"
        responses = operation["responses"]
        assert "422" not in responses, label
        assert "400" in responses or path == "/healthz", label
        for status, answer in responses.items():
            (media, content), *_ = answer["content"].items()
            schema = _resolve(document, content["schema"])
            if status.startswith("2"):
                assert schema.get("properties") or media == "text/event-stream", (label, schema)
            else:
                assert content["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, (label, status)
    submit = document["paths"]["/v1/jobs"]["post"]["responses"]
    assert set(submit) >= {"202", "409", "413", "429"} and "Location" in submit["202"]["headers"]


async def test_v1_schemas_describe_proto_json(http: httpx.AsyncClient) -> None:
    """A full Job, as to_json writes it, validates against the document's Job schema (and a broken one does
    not), so the schema is neither too loose to mean anything nor out of step with the converter."""
    document = (await http.get("/openapi.json")).json()
    job = job_pb2.Job(id="j", state=job_pb2.JOB_STATE_FAILED, position_in_queue=3, last_sequence=9)
    job.create_time.GetCurrentTime()
    job.estimated_wait.FromNanoseconds(1_500_000_000)
    job.error.code, job.error.message = 13, "boom"
    job.stages.add(stage=job_pb2.STAGE_SCORING, metrics={"skills": 3.0})
    job.course_recommendation_result.matching_details.job_skill_matches.add(job_skill="SQL", score=0.5)
    schema = {"$ref": "#/components/schemas/skillbridge.scheduler.v1.Job", "components": document["components"]}
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    written = to_json(job)
    validator.validate(written)
    assert isinstance(written["position_in_queue"], int)
    for broken in ({"position_in_queue": "3"}, {"state": "DONE"}, {"estimated_wait": 1.5}, {"stages": {}}):
        assert list(validator.iter_errors({**written, **broken})), broken
    missing = dict(written)
    del missing["id"]
    assert list(validator.iter_errors(missing))
