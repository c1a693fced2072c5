"""The v1 routes: the JobScheduler API over HTTP/JSON (the google.api.http mapping of the proto) plus SSE."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from skillbridge.scheduler.v1 import job_pb2
from skillbridge_client import Update

from gateway.convert import SEED_STATUS, to_json
from gateway.deps import Client

log = logging.getLogger(__name__)

STATE_BY_NAME: dict[str, job_pb2.JobState.ValueType] = {
    **{job_pb2.JobState.Name(s): s for s in job_pb2.JobState.values() if s},
    **{name: s for s, name in SEED_STATUS.items()},
    "succeeded": job_pb2.JOB_STATE_SUCCEEDED,
    "scheduled": job_pb2.JOB_STATE_SCHEDULED,
    "waiting": job_pb2.JOB_STATE_WAITING,
}


class AnalysisInput(BaseModel):
    """Input of a course-recommendation job."""

    resume_text: str
    job_description_text: str
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)


class NoopBody(BaseModel):
    """Input of a noop job: base64 bytes returned unchanged as its result."""

    payload: str = ""


class SubmitBody(BaseModel):
    """POST /v1/jobs: SubmitJobRequest as JSON. `type` may be the enum name or its short form."""

    type: Literal["JOB_TYPE_COURSE_RECOMMENDATION", "JOB_TYPE_NOOP", "course_recommendation", "noop"] = (
        "JOB_TYPE_COURSE_RECOMMENDATION"
    )
    course_recommendation: AnalysisInput | None = None
    noop: NoopBody | None = None
    priority: int = Field(default=0, ge=0)
    request_id: str | None = None
    delay_seconds: float | None = Field(default=None, ge=0, description="start no sooner than this after submit")
    depends_on: list[str] = Field(default_factory=list, description="ids of your jobs that must succeed first")


class CancelBody(BaseModel):
    """Optional body of a cancel."""

    reason: str = ""


def sse_frame(update: Update) -> str:
    """One SSE message. Events carry `id: <sequence>` so a reconnecting EventSource sends Last-Event-ID;
    snapshots carry no id and leave the client's last id alone."""
    if isinstance(update, job_pb2.Job):
        return f"event: snapshot\ndata: {json.dumps(to_json(update))}\n\n"
    kind = update.WhichOneof("kind") or "event"
    return f"id: {update.sequence}\nevent: {kind}\ndata: {json.dumps(to_json(update))}\n\n"


def build_v1_router() -> APIRouter:
    """The /v1 routes."""
    router = APIRouter(prefix="/v1", tags=["v1"])

    @router.post("/jobs")
    async def submit(body: SubmitBody, client: Client) -> dict[str, Any]:
        """Queues a job and returns it (QUEUED, with position and wait estimate)."""
        if body.type in ("JOB_TYPE_NOOP", "noop"):
            try:
                payload = base64.b64decode((body.noop or NoopBody()).payload, validate=True)
            except binascii.Error as exc:
                raise HTTPException(400, detail=f"noop.payload is not base64: {exc}") from None
            job = await client.submit_noop(
                payload,
                priority=body.priority,
                request_id=body.request_id,
                delay=body.delay_seconds,
                depends_on=body.depends_on,
            )
            return to_json(job)
        if body.course_recommendation is None:
            raise HTTPException(400, detail="course_recommendation is required for a course-recommendation job")
        given = body.course_recommendation
        job = await client.submit_analysis(
            given.resume_text,
            given.job_description_text,
            threshold=given.threshold,
            priority=body.priority,
            request_id=body.request_id,
            delay=body.delay_seconds,
            depends_on=body.depends_on,
        )
        return to_json(job)

    @router.get("/jobs")
    async def list_jobs(
        client: Client,
        state: Annotated[list[str] | None, Query(description="filter: queued, running, completed, ...")] = None,
        page_size: Annotated[int, Query(ge=0, le=500)] = 0,
        page_token: str = "",
    ) -> dict[str, Any]:
        """The caller's jobs, newest first, paged."""
        states = []
        for name in state or []:
            if name not in STATE_BY_NAME:
                raise HTTPException(400, detail=f"unknown state {name!r}")
            states.append(STATE_BY_NAME[name])
        return to_json(await client.list(states, page_size, page_token))

    @router.get("/jobs/{job_id}")
    async def get_job(job_id: str, client: Client) -> dict[str, Any]:
        """A snapshot of the job."""
        return to_json(await client.get(job_id))

    @router.post("/jobs/{job_id}:cancel")
    async def cancel(job_id: str, client: Client, body: CancelBody | None = None) -> dict[str, Any]:
        """Cancels a queued or running job; 409 if it has already ended."""
        return to_json(await client.cancel(job_id, reason=(body or CancelBody()).reason))

    @router.post("/jobs/{job_id}/cancel")
    async def cancel_alias(job_id: str, client: Client, body: CancelBody | None = None) -> dict[str, Any]:
        """The same as `:cancel`, for clients that cannot put a colon in a path."""
        return to_json(await client.cancel(job_id, reason=(body or CancelBody()).reason))

    @router.get("/jobs/{job_id}/events", response_class=StreamingResponse)
    async def events(
        job_id: str,
        client: Client,
        last_event_id: Annotated[str | None, Header()] = None,
        after_sequence: Annotated[int | None, Query(ge=0)] = None,
    ) -> StreamingResponse:
        """Server-sent events: a snapshot, then every event after Last-Event-ID (or `after_sequence`); ends
        after the terminal event."""
        after = after_sequence or 0
        if last_event_id:
            try:
                after = max(after, int(last_event_id))
            except ValueError:
                raise HTTPException(400, detail="Last-Event-ID must be an event sequence number") from None
        stream = client.watch(job_id, after_sequence=after)
        # The first update is read here so an unknown job or a bad key is an HTTP error, not an empty stream.
        first = await anext(stream)
        return StreamingResponse(
            _frames(first, stream),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.get("/queue")
    async def queue(client: Client) -> dict[str, Any]:
        """Queue depth, counts by state, stage timings, throughput, workers and health."""
        return to_json(await client.queue_status())

    return router


async def _frames(first: Update, stream: AsyncGenerator[Update, None]) -> AsyncIterator[str]:
    try:
        yield sse_frame(first)
        async for update in stream:
            yield sse_frame(update)
    except Exception as exc:  # headers are sent: the error can only be told as a last event
        log.warning("event stream ended with %s", exc)
        yield f"event: error\ndata: {json.dumps({'detail': str(exc)})}\n\n"
    finally:
        await stream.aclose()  # ends the gRPC stream when the HTTP client goes away
