"""The v1 routes: the JobScheduler API over HTTP/JSON (the google.api.http mapping of the proto). Each answers
proto JSON, typed in OpenAPI by the message's schema (gateway.proto_schema); the event stream is in
routes_events."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge_client import SkillBridgeError
from starlette.convertors import CONVERTOR_TYPES, StringConvertor, register_url_convertor

from gateway.convert import to_json
from gateway.deps import AppSettings, Client
from gateway.errors import error_responses, invalid, renamed
from gateway.inputs import (
    MAX_ID_CHARS,
    MAX_PAGE_TOKEN_CHARS,
    MAX_STATE_FILTERS,
    STATE_BY_NAME,
    CancelBody,
    NoopBody,
    StateName,
    SubmitBody,
    check_submission,
)
from gateway.proto_schema import ref

JobIdPath = Annotated[str, Path(max_length=MAX_ID_CHARS, description="The job's id.")]
# Path segments holding a job id: no colon, so /v1/jobs/{id}:cancel is never also read as GET /v1/jobs/{id}.
JOB_ID_CONVERTOR = "job_id"


class JobIdConvertor(StringConvertor):
    regex = "[^/:]+"


def register_job_id_convertor() -> None:
    """Makes `{name:job_id}` usable in route paths (Starlette keeps convertors in one registry; idempotent)."""
    if JOB_ID_CONVERTOR not in CONVERTOR_TYPES:
        register_url_convertor(JOB_ID_CONVERTOR, JobIdConvertor())


# The scheduler names SubmitJobRequest fields; the JSON body calls `delay` `delay_seconds`.
_REST_FIELD = {"delay": "delay_seconds"}
_CALLER_ERRORS = (400, 401, 403, 429, 502, 503, 504)


def proto_answer(descriptor: Descriptor, description: str, status: int = 200, **extra: Any) -> dict[int | str, Any]:
    """OpenAPI `responses` for a route answering `descriptor` as proto JSON."""
    answer = {"description": description, "content": {"application/json": {"schema": ref(descriptor)}}, **extra}
    return {status: answer}


def proto_json(message: Message, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(to_json(message), status_code=status, headers=headers)


def build_v1_router() -> APIRouter:
    """The /v1 routes."""
    register_job_id_convertor()
    router = APIRouter(prefix="/v1", tags=["v1"])
    job = job_pb2.Job.DESCRIPTOR

    @router.post(
        "/jobs",
        status_code=202,
        response_model=None,
        responses={
            **proto_answer(
                job,
                "Accepted: the job, QUEUED (or SCHEDULED / WAITING) with its position and wait estimate.",
                202,
                headers={"Location": {"description": "The job's URL.", "schema": {"type": "string"}}},
            ),
            **error_responses(*_CALLER_ERRORS, 409, 413),
        },
    )
    async def submit(body: SubmitBody, client: Client, settings: AppSettings) -> JSONResponse:
        """Queues a job and answers 202 with it and its `Location`."""
        try:
            submitted = await _submit(body, client, settings)
        except SkillBridgeError as exc:
            raise renamed(exc, lambda f: _REST_FIELD.get(f, f)) from None
        return proto_json(submitted, 202, {"Location": f"/v1/jobs/{submitted.id}"})

    @router.get(
        "/jobs",
        response_model=None,
        responses={
            **proto_answer(pb.ListJobsResponse.DESCRIPTOR, "One page of jobs."),
            **error_responses(*_CALLER_ERRORS),
        },
    )
    async def list_jobs(
        client: Client,
        state: Annotated[
            list[StateName],
            Query(default_factory=list, max_length=MAX_STATE_FILTERS, description="Only jobs in these states."),
        ],
        page_size: Annotated[int, Query(ge=0, le=500, description="At most this many; 0 means 50.")] = 0,
        page_token: Annotated[str, Query(max_length=MAX_PAGE_TOKEN_CHARS)] = "",
    ) -> JSONResponse:
        """The caller's jobs, newest first, paged."""
        states = [STATE_BY_NAME[name] for name in state]
        return proto_json(await client.list(states, page_size, page_token))

    @router.get(
        "/jobs/{job_id:job_id}",
        response_model=None,
        responses={**proto_answer(job, "The job."), **error_responses(*_CALLER_ERRORS, 404)},
    )
    async def get_job(job_id: JobIdPath, client: Client) -> JSONResponse:
        """A snapshot of the job."""
        return proto_json(await client.get(job_id))

    cancel_responses = {**proto_answer(job, "The job, CANCELLED."), **error_responses(*_CALLER_ERRORS, 404, 409)}

    @router.post("/jobs/{job_id:job_id}:cancel", response_model=None, responses=cancel_responses)
    async def cancel(job_id: JobIdPath, client: Client, body: CancelBody | None = None) -> JSONResponse:
        """Cancels a queued or running job; 409 if it has already ended."""
        return proto_json(await client.cancel(job_id, reason=(body or CancelBody()).reason))

    @router.post("/jobs/{job_id:job_id}/cancel", response_model=None, responses=cancel_responses)
    async def cancel_alias(job_id: JobIdPath, client: Client, body: CancelBody | None = None) -> JSONResponse:
        """The same as `:cancel`, for clients that cannot put a colon in a path."""
        return proto_json(await client.cancel(job_id, reason=(body or CancelBody()).reason))

    @router.get(
        "/queue",
        response_model=None,
        responses={
            **proto_answer(pb.GetQueueStatusResponse.DESCRIPTOR, "The queue."),
            **error_responses(*_CALLER_ERRORS),
        },
    )
    async def queue(client: Client) -> JSONResponse:
        """Queue depth, counts by state, stage timings, throughput, workers and health."""
        return proto_json(await client.queue_status())

    return router


async def _submit(body: SubmitBody, client: Client, settings: AppSettings) -> job_pb2.Job:
    common: dict[str, Any] = {
        "priority": body.priority,
        "request_id": body.request_id or None,
        "delay": body.delay_seconds,
        "depends_on": body.depends_on,
    }
    if body.type in ("JOB_TYPE_NOOP", "noop"):
        check_submission(settings, priority=body.priority, texts={})
        try:
            payload = base64.b64decode((body.noop or NoopBody()).payload, validate=True)
        except binascii.Error:
            raise invalid("noop.payload", "is not base64") from None
        return await client.submit_noop(payload, **common)
    given = body.course_recommendation
    if given is None:
        raise invalid("course_recommendation", "is required for a course-recommendation job")
    check_submission(
        settings,
        priority=body.priority,
        texts={"resume_text": given.resume_text, "job_description_text": given.job_description_text},
    )
    return await client.submit_analysis(
        given.resume_text, given.job_description_text, threshold=given.threshold, **common
    )
