"""GET /v1/jobs/{id}/events: SSE frames, Last-Event-ID resume, a real disconnect over a socket, and a prompt 503
when the scheduler is down."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from skillbridge_client import AsyncSchedulerClient

from gateway.app import create_app
from services.common.settings import Settings
from tests.gateway.error_shape import assert_error
from tests.gateway.live import Frame, parse_frame, parse_frames, served
from tests.scheduler.stage_doubles import Behavior
from tests.sdk.harness import JOB_DESCRIPTION, RESUME, Stack

ANALYSIS = {"course_recommendation": {"resume_text": RESUME, "job_description_text": JOB_DESCRIPTION}}


async def test_stream_until_terminal_and_resume(http: httpx.AsyncClient) -> None:
    job = (await http.post("/v1/jobs", json=ANALYSIS)).json()
    answer = await http.get(f"/v1/jobs/{job['id']}/events")
    assert answer.headers["content-type"].startswith("text/event-stream")
    frames = parse_frames(answer.text)
    assert frames[0].event == "snapshot" and frames[0].id is None
    events = [f for f in frames if f.id is not None]
    assert [f.id for f in events] == list(range(1, len(events) + 1))
    assert events[-1].event == "succeeded"
    assert "stage_finished" in {f.event for f in events}
    assert all(f.data["sequence"] == f.id for f in events)

    resumed = parse_frames((await http.get(f"/v1/jobs/{job['id']}/events", headers={"Last-Event-ID": "3"})).text)
    assert [f.id for f in resumed if f.id is not None] == [f.id for f in events[3:]]
    assert [f.data for f in resumed if f.id is not None] == [f.data for f in events[3:]]


async def test_events_errors(http: httpx.AsyncClient) -> None:
    assert (await http.get("/v1/jobs/unknown/events")).status_code == 404
    job = (await http.post("/v1/jobs", json=ANALYSIS)).json()
    bad = await http.get(f"/v1/jobs/{job['id']}/events", headers={"Last-Event-ID": "x"})
    assert_error(bad, 400, "INVALID_ARGUMENT")


async def test_disconnect_then_resume_misses_nothing(stack: Stack, app: FastAPI) -> None:
    """A browser drops the connection mid-job and comes back with Last-Event-ID: it gets every later event."""
    stack.doubles.behaviors["CompareSkills"] = Behavior(delay=1.0)
    async with served(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as http:
        job = (await http.post("/v1/jobs", json=ANALYSIS)).json()
        before: list[Frame] = []
        async with http.stream("GET", f"/v1/jobs/{job['id']}/events") as stream:
            buffer = ""
            async for chunk in stream.aiter_text():
                buffer += chunk
                *blocks, buffer = buffer.split("\n\n")
                before.extend(f for b in blocks if (f := parse_frame(b)) is not None)
                if any(
                    f.event == "stage_started" and f.data["stage_started"]["stage"] == "STAGE_SIMILARITY_ANALYSIS"
                    for f in before
                ):
                    break
        # Disconnected while the slow stage runs: the job goes on while nobody listens.
        assert not stack.doubles.calls["RecommendCourses"]
        last = max(f.id for f in before if f.id is not None)
        answer = await http.get(f"/v1/jobs/{job['id']}/events", headers={"Last-Event-ID": str(last)})
        after = parse_frames(answer.text)
    ids = [f.id for f in before + after if f.id is not None]
    assert ids == list(range(1, len(ids) + 1))
    assert after[-1].event == "succeeded"


async def test_scheduler_down_is_a_prompt_503(settings: Settings) -> None:
    """A refused connection is answered at once (GetJob fails fast where the watch would retry for ~30 s): the
    answer is the SDK's UNAVAILABLE, not the connect deadline, which is set longer than any test would wait."""
    async with AsyncSchedulerClient("127.0.0.1:1", timeout=60.0) as client:
        app = create_app(settings, client=client, connect_timeout=60.0)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
            answer = await http.get("/v1/jobs/some-job/events")
    body = assert_error(answer, 503, "UNAVAILABLE")
    assert "did not answer within" not in body["detail"]
    assert int(answer.headers["Retry-After"]) >= 1


async def test_silent_scheduler_is_503_at_the_connect_deadline(settings: Settings) -> None:
    """A scheduler that accepts the connection and never answers: the connect deadline (0.2 s here) ends the
    wait with 503, long before the call deadline (60 s) would."""
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with AsyncSchedulerClient(f"127.0.0.1:{port}", timeout=60.0) as client:
            app = create_app(settings, client=client, connect_timeout=0.2)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
                answer = await http.get("/v1/jobs/some-job/events")
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()
    body = assert_error(answer, 503, "UNAVAILABLE")
    assert "did not answer within 0.2 s" in body["detail"]
