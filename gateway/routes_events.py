"""GET /v1/jobs/{job_id}/events: the job's snapshot and events as server-sent events (sse-starlette).

Each event carries `id: <sequence>`, so a reconnecting EventSource sends Last-Event-ID and resumes after it;
snapshots carry no id and leave the client's last id alone. The stream ends after the terminal event. The
answer comes promptly when the scheduler is down: the first call runs under the connect deadline, and a refused
connection is a 503 at once rather than after the SDK's reconnect attempts."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from skillbridge.scheduler.v1 import job_pb2
from skillbridge_client import SkillBridgeError, Update
from sse_starlette import EventSourceResponse, ServerSentEvent

from gateway.convert import to_json
from gateway.deps import StreamClient
from gateway.errors import ApiError, error_body, error_responses
from gateway.inputs import INT64_MAX
from gateway.routes_v1 import JobIdPath, register_job_id_convertor

log = logging.getLogger(__name__)

SEP = "\n"  # line ends of the stream (the spec allows CRLF, LF or CR; LF is what most servers send)

STREAM_DESCRIPTION = (
    "text/event-stream. First `event: snapshot` (a Job, no id), then one message per JobEvent with `id: "
    "<sequence>` and `event: <kind>` (queued, started, stage_started, stage_progress, stage_finished, retried, "
    "succeeded, failed, cancelled, ...); `data` is the proto JSON. Ends after the terminal event. An error after "
    "the stream has started comes as `event: error` whose data is the error shape."
)


def sse_event(update: Update) -> ServerSentEvent:
    """One message: a snapshot without id, or an event with its sequence as id."""
    if isinstance(update, job_pb2.Job):
        return ServerSentEvent(data=json.dumps(to_json(update)), event="snapshot", sep=SEP)
    kind = update.WhichOneof("kind") or "event"
    return ServerSentEvent(data=json.dumps(to_json(update)), event=kind, id=str(update.sequence), sep=SEP)


def build_events_router() -> APIRouter:
    register_job_id_convertor()
    router = APIRouter(prefix="/v1", tags=["v1"])

    @router.get(
        "/jobs/{job_id:job_id}/events",
        response_class=EventSourceResponse,
        responses={
            200: {"description": STREAM_DESCRIPTION, "content": {"text/event-stream": {"schema": {"type": "string"}}}},
            **error_responses(400, 401, 403, 404, 429, 502, 503, 504),
        },
    )
    async def events(
        request: Request,
        job_id: JobIdPath,
        client: StreamClient,
        last_event_id: Annotated[
            int, Header(alias="Last-Event-ID", ge=0, le=INT64_MAX, description="Resume after this event sequence.")
        ] = 0,
        after_sequence: Annotated[
            int, Query(ge=0, le=INT64_MAX, description="Resume after this sequence (for URLs).")
        ] = 0,
    ) -> EventSourceResponse:
        """Server-sent events: a snapshot, then every event after Last-Event-ID (or `after_sequence`)."""
        deadline: float = request.app.state.connect_timeout
        stream = client.watch(job_id, after_sequence=max(after_sequence, last_event_id))
        try:
            # The first answers are awaited here, so an unknown job, a bad key or a scheduler that is down is an
            # HTTP error rather than an empty stream. GetJob fails at once on a refused connection, where the
            # watch would retry; the deadline bounds a scheduler that accepts connections but does not answer.
            async with asyncio.timeout(deadline):
                await client.get(job_id)
                first = await anext(stream)
        except TimeoutError:
            await stream.aclose()
            raise ApiError(503, f"the scheduler did not answer within {deadline:g} s", retry_after=1.0) from None
        except BaseException:
            await stream.aclose()
            raise
        return EventSourceResponse(_events(first, stream), sep=SEP, headers={"Cache-Control": "no-cache"})

    return router


async def _events(first: Update, stream: AsyncGenerator[Update, None]) -> AsyncIterator[ServerSentEvent]:
    try:
        yield sse_event(first)
        async for update in stream:
            yield sse_event(update)
    except SkillBridgeError as exc:  # headers are sent: the error can only be told as a last event
        log.info("event stream ended with %s", exc.code)
        yield ServerSentEvent(data=json.dumps(error_body(exc)), event="error", sep=SEP)
    except Exception:
        log.exception("event stream failed")
        yield ServerSentEvent(data=json.dumps(error_body(RuntimeError())), event="error", sep=SEP)
    finally:
        await stream.aclose()  # ends the gRPC stream when the HTTP client goes away
