"""Property-based: SubmitJob over real in-process gRPC with arbitrary field values (out-of-range and negative
integers, NaN and infinities, long and odd unicode, timestamps and durations at the int64 limits, unknown enum
values, many depends_on) answers OK or a documented user error, never INTERNAL, UNKNOWN or RESOURCE_EXHAUSTED.

Bounded for `make test`; `make fuzz` raises the budget (SKILLBRIDGE_FUZZ_EXAMPLES)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2, timestamp_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skillbridge.scheduler.v1 import job_pb2, scheduler_service_pb2_grpc
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb

from services.common.error_text import MAX_MESSAGE_CHARS
from services.common.settings import Settings
from services.scheduler.server import start
from tests.scheduler.grpc_helpers import field_violations

EXAMPLES = int(os.environ.get("SKILLBRIDGE_FUZZ_EXAMPLES", "60"))

INT32 = st.integers(-(2**31), 2**31 - 1)
INT64 = st.integers(-(2**63), 2**63 - 1)
# Odd text: any code point protobuf can carry (no lone surrogates: they are not UTF-8, see test_hostile_requests),
# at lengths from none to past every limit.
TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.integers(0, 300_000).map(lambda n: "é" * n),
)
NUMBER = st.one_of(st.floats(), st.sampled_from([0.0, -0.0, 1.0, 0.5, 1e-320, 1e308, float("nan"), float("inf")]))


@st.composite
def submit_requests(draw: Any) -> pb.SubmitJobRequest:
    request = pb.SubmitJobRequest(
        type=draw(st.one_of(st.sampled_from(list(job_pb2.JobType.values())), INT32)),
        priority=draw(st.one_of(st.integers(-2, 12), INT32)),
        request_id=draw(st.one_of(st.just(""), TEXT)),
        depends_on=draw(st.lists(TEXT, max_size=3) | st.lists(st.text(max_size=8), min_size=50, max_size=300)),
        skip_cache=draw(st.booleans()),
    )
    which = draw(st.sampled_from(["course", "noop", "rank", "none"]))
    if which == "course":
        request.course_recommendation.resume_text = draw(TEXT)
        request.course_recommendation.job_description_text = draw(TEXT)
        request.course_recommendation.threshold = draw(NUMBER)
    elif which == "noop":
        request.noop.payload = draw(st.binary(max_size=64))
    elif which == "rank":
        request.rank_analyses.SetInParent()
    if draw(st.booleans()):
        request.not_before.CopyFrom(timestamp_pb2.Timestamp(seconds=draw(INT64), nanos=draw(INT32)))
    if draw(st.booleans()):
        request.delay.CopyFrom(duration_pb2.Duration(seconds=draw(INT64), nanos=draw(INT32)))
    return request


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[scheduler_service_pb2_grpc.JobSchedulerServiceStub]:
    """A real scheduler (no dispatcher: only the submit's answer is under test) on a loop of its own in a
    background thread, so hypothesis can drive it from a synchronous test."""
    store = Path(tmp_path_factory.mktemp("submit-fuzz")) / "jobs.db"
    settings = Settings.from_env(environ={}, store=f"sqlite:///{store}", run_dispatcher=False, log_json=False)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="scheduler", daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(start(settings, port=0), loop).result(30)
    try:
        with grpc.insecure_channel(server.address) as channel:
            yield scheduler_service_pb2_grpc.JobSchedulerServiceStub(channel)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(0.5), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


@given(request=submit_requests())
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_submit_is_accepted_or_a_field_error(
    stub: scheduler_service_pb2_grpc.JobSchedulerServiceStub, request: pb.SubmitJobRequest
) -> None:
    try:
        answer = stub.SubmitJob(request, timeout=30.0)
    except grpc.RpcError as error:
        code, details = error.code(), error.details() or ""
        assert code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ALREADY_EXISTS), (code, details[:300])
        assert len(details) <= MAX_MESSAGE_CHARS
        if code is grpc.StatusCode.INVALID_ARGUMENT:
            assert field_violations(error), f"no BadRequest field violation: {details[:300]}"
    else:
        assert answer.job.id
