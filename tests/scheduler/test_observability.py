"""Trace context and metrics of the scheduler: a submitter's traceparent reaches every stage call, log lines of
a job carry its trace id, and the figures scraped from the metrics port match the jobs that ran."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.logs import JsonFormatter
from services.common.metrics import serve_metrics
from services.common.observability import Observability
from services.common.settings import Settings
from services.common.tracing import TraceContext, outgoing_metadata, parse_traceparent
from services.scheduler import core
from services.scheduler.dispatcher import Dispatcher
from services.scheduler.feed import ChangeFeed
from services.scheduler.jobs import JobService
from services.scheduler.metrics import SchedulerMetrics
from services.scheduler.model import JobState, NoopInput, Principal
from services.scheduler.server import SchedulerServer, start
from services.scheduler.store.factory import open_store
from tests.scheduler.grpc_helpers import course_request, noop_request
from tests.scheduler.stage_doubles import Behavior, StageDoubles, start_stage_doubles
from tests.support import assert_eventually, free_port

STAGE_RPCS = ["ExtractEntities", "ExtractSkills", "CompareSkills", "SearchCourses", "RecommendCourses", "ScoreCourses"]
PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class TracedDoubles(StageDoubles):
    """The stage doubles, also recording the traceparent each call arrived with."""

    def __init__(self) -> None:
        super().__init__()
        self.traceparents: list[tuple[str, str]] = []

    async def act(self, name: str, context: Any) -> None:
        value = dict(context.invocation_metadata() or ()).get("traceparent", "")
        self.traceparents.append((name, value))
        await super().act(name, context)


class JsonLines(logging.Handler):
    """Keeps the JSON lines a process would write (formatted when logged, in the context of the work)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
async def traced() -> AsyncIterator[tuple[TracedDoubles, str]]:
    doubles = TracedDoubles()
    server, address = await start_stage_doubles(doubles)
    yield doubles, address
    await server.stop(0)


def wired(settings: Settings, address: str) -> Settings:
    return settings.replace(
        ner_address=address,
        similarity_address=address,
        retrieval_address=address,
        recommendation_address=address,
    )


@pytest.fixture
async def observed(settings: Settings, traced: tuple[TracedDoubles, str]) -> AsyncIterator[SchedulerServer]:
    """A scheduler whose metrics are served on a free port."""
    observability = Observability()
    observability.metrics_server = serve_metrics(observability.registry, free_port(), "127.0.0.1")
    server = await start(wired(settings, traced[1]), port=0, observability=observability)
    yield server
    await server.stop(0.5)
    observability.close()


async def scrape(server: SchedulerServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics over HTTP (from a thread, as Prometheus would); samples keyed by name and sorted labels."""
    assert server.observability.metrics_server is not None
    url = f"http://127.0.0.1:{server.observability.metrics_server.port}/metrics"

    def get() -> str:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return str(reply.read().decode())

    text = await asyncio.to_thread(get)
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def wait_done(stub: pb_grpc.JobSchedulerServiceStub, job_id: str) -> job_pb2.Job:
    async def done() -> job_pb2.Job | None:
        job = (await stub.GetJob(pb.GetJobRequest(job_id=job_id))).job
        finished = (job_pb2.JOB_STATE_SUCCEEDED, job_pb2.JOB_STATE_FAILED, job_pb2.JOB_STATE_CANCELLED)
        return job if job.state in finished else None

    result: job_pb2.Job = await assert_eventually(done, within=30, message=f"job {job_id} did not finish")
    return result


def test_traceparent_parsing_follows_the_w3c_rules() -> None:
    parsed = parse_traceparent(PARENT)
    assert parsed == TraceContext("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1)
    for bad in [
        "",
        "00-0000-00f067aa0ba902b7-01",
        f"ff{PARENT[2:]}",
        PARENT.replace("4bf92f", "zzzzzz"),
        PARENT + "-x",
    ]:
        assert parse_traceparent(bad) is None, bad
    assert parse_traceparent("00-" + "0" * 32 + "-00f067aa0ba902b7-01") is None
    child = outgoing_metadata(PARENT)[0]
    assert child[0] == "traceparent"
    continued = parse_traceparent(child[1])
    assert continued is not None and continued.trace_id == parsed.trace_id and continued.span_id != parsed.span_id
    fresh = parse_traceparent(outgoing_metadata()[0][1])
    assert fresh is not None and fresh.trace_id != parsed.trace_id


async def test_submitters_trace_reaches_every_stage_call_and_the_jobs_log_lines(
    observed: SchedulerServer, traced: tuple[TracedDoubles, str]
) -> None:
    doubles = traced[0]
    # One UNAVAILABLE answer makes the dispatcher log a retry inside the job.
    doubles.behaviors["ExtractEntities"] = Behavior(fail_code=grpc.StatusCode.UNAVAILABLE, fail_times=1)
    lines = JsonLines()
    logger = logging.getLogger("services.scheduler.stage_clients")
    logger.addHandler(lines)
    logger.setLevel(logging.INFO)
    try:
        async with grpc.aio.insecure_channel(observed.address) as channel:
            stub = pb_grpc.JobSchedulerServiceStub(channel)
            submitted = await stub.SubmitJob(course_request(), metadata=(("traceparent", PARENT),))
            job = await wait_done(stub, submitted.job.id)
    finally:
        logger.removeHandler(lines)
        logger.setLevel(logging.NOTSET)
    assert job.state == job_pb2.JOB_STATE_SUCCEEDED

    seen = [(name, parse_traceparent(value)) for name, value in doubles.traceparents]
    assert [name for name, _ in seen] == ["ExtractEntities", *STAGE_RPCS]  # the first one was retried
    assert all(ctx is not None and ctx.trace_id == PARENT.split("-")[1] for _, ctx in seen), seen
    span_ids = [ctx.span_id for _, ctx in seen if ctx is not None]
    assert len(set(span_ids)) == len(span_ids) and PARENT.split("-")[2] not in span_ids

    retry_lines = [line for line in lines.lines if "retry" in line["msg"]]
    assert retry_lines, "the retry was not logged"
    assert retry_lines[0]["job_id"] == submitted.job.id
    assert retry_lines[0]["trace_id"] == PARENT.split("-")[1]


async def test_a_job_submitted_without_a_traceparent_gets_one_trace_for_all_its_stages(
    observed: SchedulerServer, traced: tuple[TracedDoubles, str]
) -> None:
    async with grpc.aio.insecure_channel(observed.address) as channel:
        stub = pb_grpc.JobSchedulerServiceStub(channel)
        job = await wait_done(stub, (await stub.SubmitJob(course_request())).job.id)
    assert job.state == job_pb2.JOB_STATE_SUCCEEDED
    traces = {ctx.trace_id for _, value in traced[0].traceparents if (ctx := parse_traceparent(value))}
    assert len(traces) == 1 and len(traced[0].traceparents) == len(STAGE_RPCS)


async def test_metrics_port_reports_the_jobs_that_ran(
    observed: SchedulerServer, traced: tuple[TracedDoubles, str]
) -> None:
    doubles = traced[0]
    doubles.behaviors["ExtractEntities"] = Behavior(fail_code=grpc.StatusCode.UNAVAILABLE, fail_times=1)
    doubles.behaviors["CompareSkills"] = Behavior(fail_code=grpc.StatusCode.INVALID_ARGUMENT, fail_times=-1)
    async with grpc.aio.insecure_channel(observed.address) as channel:
        stub = pb_grpc.JobSchedulerServiceStub(channel)
        noop_ids = [(await stub.SubmitJob(noop_request(b"x"))).job.id for _ in range(5)]
        failing = (await stub.SubmitJob(course_request())).job.id
        for job_id in noop_ids:
            assert (await wait_done(stub, job_id)).state == job_pb2.JOB_STATE_SUCCEEDED
        assert (await wait_done(stub, failing)).state == job_pb2.JOB_STATE_FAILED

    m = await scrape(observed)
    assert m[("skillbridge_jobs_submitted_total", (("type", "noop"),))] == 5
    assert m[("skillbridge_jobs_submitted_total", (("type", "course_recommendation"),))] == 1
    assert m[("skillbridge_jobs_finished_total", (("state", "SUCCEEDED"), ("type", "noop")))] == 5
    assert m[("skillbridge_jobs_finished_total", (("state", "FAILED"), ("type", "course_recommendation")))] == 1
    assert m[("skillbridge_stage_retries_total", (("stage", "ENTITY_RECOGNITION"),))] == 1
    errors = ("skillbridge_stage_errors_total", (("code", "INVALID_ARGUMENT"), ("stage", "SIMILARITY_ANALYSIS")))
    assert m[errors] == 1
    for stage in ("ENTITY_RECOGNITION", "SKILL_EXTRACTION"):
        assert m[("skillbridge_stage_duration_seconds_count", (("stage", stage),))] == 1
    assert ("skillbridge_stage_duration_seconds_count", (("stage", "SIMILARITY_ANALYSIS"),)) not in m  # it failed
    assert m[("skillbridge_jobs", (("state", "SUCCEEDED"),))] == 5
    assert m[("skillbridge_jobs", (("state", "FAILED"),))] == 1
    assert m[("skillbridge_jobs", (("state", "QUEUED"),))] == 0
    submit_ok = ("grpc_server_handled_total", (("grpc_code", "OK"), ("grpc_method", "SubmitJob"), _SERVICE))
    assert m[submit_ok] == 6
    assert m[("grpc_server_handling_seconds_count", (("grpc_method", "SubmitJob"), _SERVICE))] == 6


_SERVICE = ("grpc_service", "skillbridge.scheduler.v1.JobSchedulerService")


async def test_queue_depth_by_priority_is_read_from_the_store_on_scrape(
    settings: Settings, traced: tuple[TracedDoubles, str]
) -> None:
    observability = Observability()
    observability.metrics_server = serve_metrics(observability.registry, free_port(), "127.0.0.1")
    server = await start(wired(settings, traced[1]).replace(run_dispatcher=False), port=0, observability=observability)
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.JobSchedulerServiceStub(channel)
            for priority in (4, 4, 4, 1, 1):
                await stub.SubmitJob(noop_request(priority=priority))
            m = await scrape(server)
            assert m[("skillbridge_queue_depth", (("priority", "4"),))] == 3
            assert m[("skillbridge_queue_depth", (("priority", "1"),))] == 2
            assert m[("skillbridge_jobs", (("state", "QUEUED"),))] == 5
            for _ in range(2):
                await stub.SubmitJob(noop_request(priority=4))

            async def depth_seen() -> bool:  # counts are cached for a second: the next fresh read shows 5
                return (await scrape(server))[("skillbridge_queue_depth", (("priority", "4"),))] == 5

            await assert_eventually(depth_seen, within=5)
    finally:
        await server.stop(0.5)
        observability.close()


async def test_an_expired_lease_is_counted_when_it_is_requeued(settings: Settings) -> None:
    feed = ChangeFeed()
    store = open_store(settings, feed)
    metrics = SchedulerMetrics(Observability().registry)
    try:
        jobs = JobService(store, feed, settings)
        from services.scheduler.core import Submission
        from services.scheduler.model import JobType

        view, _ = await jobs.submit(Principal("dev"), Submission(type=JobType.NOOP, input=NoopInput()))
        claimed = await store.claim(
            worker="gone", now=time.time(), lease_seconds=0.5, limit=1, start=core.starter("gone", time.time(), 0.5)
        )
        assert [j.id for j in claimed] == [view.job.id]
        later = Dispatcher(store, feed, {}, settings, clock=lambda: time.time() + 60, metrics=metrics)
        await later.maintain()
        job = await store.get(view.job.id)
        assert job is not None and job.state is JobState.QUEUED
        assert metrics.lease_expiries._value.get() == 1
    finally:
        await store.close()
