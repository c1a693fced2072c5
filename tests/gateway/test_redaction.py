"""?access_token= never reaches a log line: uvicorn's access log of a real server records it redacted, and the
log filter installed by serve() rewrites any other line that carries one."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI

from gateway.redact import RedactingFilter, redact, take_token
from tests.gateway.live import served

SECRET = "s3cret-Key_42"


async def test_access_log_records_the_token_redacted(app: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    async with served(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as http:
        job = (await http.post("/v1/jobs", json={"type": "noop"})).json()
        stream = await http.get(f"/v1/jobs/{job['id']}/events", params={"access_token": SECRET, "after_sequence": 0})
        assert stream.status_code == 200 and "event: succeeded" in stream.text
        refused = await http.get("/v1/queue", params={"access_token": SECRET})
        assert refused.status_code == 400 and SECRET not in refused.text
        missing = await http.get("/v1/jobs/unknown/events", params={"ACCESS_TOKEN": SECRET})
        assert missing.status_code == 404
    access = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert any("/events?access_token=redacted&after_sequence=0" in line for line in access), access
    assert any("/v1/queue?access_token=redacted" in line for line in access), access
    assert SECRET not in caplog.text


def test_filter_redacts_any_line_and_keeps_access_log_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", f"/v1/jobs/j/events?access_token={SECRET}", "1.1", 200),
        None,
    )
    assert RedactingFilter().filter(record)
    assert isinstance(record.args, tuple) and len(record.args) == 5
    assert SECRET not in record.getMessage() and "access_token=redacted" in record.getMessage()
    other = logging.LogRecord(
        "app", logging.WARNING, __file__, 1, "url was %s", (f"/x?a=1&access_token={SECRET}",), None
    )
    RedactingFilter().filter(other)
    assert other.getMessage() == "url was /x?a=1&access_token=redacted"
    assert redact(f'{{"access_token": "{SECRET}"}}') == '{"access_token": "redacted"}'


def test_take_token_decodes_and_replaces() -> None:
    query, token = take_token(b"a=1&access_token=k%2By&b=2")
    assert (query, token) == (b"a=1&access_token=redacted&b=2", "k+y")
    assert take_token(b"a=1") == (b"a=1", None)
