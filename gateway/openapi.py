"""The gateway's OpenAPI document: FastAPI's, with the proto JSON schemas of the v1 answers added and FastAPI's
422 validation answers removed (validation errors are 400s in the one error shape, documented per route)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb

from gateway.proto_schema import component_schemas
from gateway.settings import GatewaySettings

PROTO_ROOTS = (
    job_pb2.Job.DESCRIPTOR,
    job_pb2.JobEvent.DESCRIPTOR,
    pb.ListJobsResponse.DESCRIPTOR,
    pb.GetQueueStatusResponse.DESCRIPTOR,
)


def install_openapi(app: FastAPI, settings: GatewaySettings) -> None:
    """Replaces app.openapi with the document described above (built once, on first request). The limits the
    deployment configures are written into it from `settings`."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components.update(component_schemas(*PROTO_ROOTS))
        _deployment_limits(components, settings)
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]


def _deployment_limits(components: dict[str, Any], settings: GatewaySettings) -> None:
    priority = components["SubmitBody"]["properties"]["priority"]
    priority["maximum"] = settings.max_priority
    priority["description"] = f"Higher runs first: 0 to {settings.max_priority} (your tier may allow less)."
    for name in ("AnalysisInput", "SeedPayload"):
        for text in ("resume_text", "job_description_text"):
            field = components[name]["properties"][text]
            field["description"] = f"Plain text, not blank, at most {settings.max_text_bytes} bytes in UTF-8."
