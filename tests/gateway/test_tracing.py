"""The gateway continues the caller's W3C trace into the scheduler, which stores it with the job."""

from __future__ import annotations

import httpx

from tests.sdk.harness import Stack

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_traceparent_header_reaches_the_job(http: httpx.AsyncClient, stack: Stack) -> None:
    header = {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
    answer = await http.post("/v1/jobs", json={"type": "noop"}, headers=header)
    assert answer.status_code == 202, answer.text
    record = await stack.scheduler.store.get(answer.json()["id"])
    assert record is not None and record.traceparent.split("-")[1] == TRACE_ID
    # ... as a child span: same trace, a new span id.
    assert record.traceparent.split("-")[2] != "00f067aa0ba902b7"
