"""Spans leave the process over OTLP only when SKILLBRIDGE_OTLP_ENDPOINT is set: a collector served here (the
real OTLP gRPC service) receives the SubmitJob server span and one client span per stage call, all in the
submitter's trace and parented as the calls were made."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1 import trace_pb2
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.observability import Observability
from services.common.settings import REPO_ROOT, Settings
from services.common.tracing import spans_from_settings
from services.scheduler.server import start
from tests.scheduler.grpc_helpers import course_request
from tests.scheduler.stage_doubles import StageDoubles, start_stage_doubles
from tests.support import assert_eventually

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"
STAGES = [
    "ENTITY_RECOGNITION",
    "SKILL_EXTRACTION",
    "SIMILARITY_ANALYSIS",
    "COURSE_RETRIEVAL",
    "RECOMMENDATION",
    "SCORING",
]


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP trace collector that keeps what it is sent."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, trace_pb2.Span]] = []

    async def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: object
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        for resource_spans in request.resource_spans:
            service = next(a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name")
            for scope in resource_spans.scope_spans:
                self.spans.extend((service, span) for span in scope.spans)
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture
async def collector() -> AsyncIterator[tuple[Collector, str]]:
    found = Collector()
    server = grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(found, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield found, f"http://127.0.0.1:{port}"
    await server.stop(0)


async def test_spans_of_a_job_are_exported_in_the_submitters_trace(
    settings: Settings, collector: tuple[Collector, str]
) -> None:
    found, endpoint = collector
    doubles = StageDoubles()
    stage_server, address = await start_stage_doubles(doubles)
    wired = settings.replace(
        otlp_endpoint=endpoint,
        ner_address=address,
        similarity_address=address,
        retrieval_address=address,
        recommendation_address=address,
    )
    observability = Observability(spans=spans_from_settings(wired, "scheduler"))
    assert observability.spans.exporting
    server = await start(wired, port=0, observability=observability)
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.JobSchedulerServiceStub(channel)
            parent = f"00-{TRACE_ID}-{PARENT_SPAN}-01"
            job_id = (await stub.SubmitJob(course_request(), metadata=(("traceparent", parent),))).job.id

            async def succeeded() -> bool:
                job = (await stub.GetJob(pb.GetJobRequest(job_id=job_id))).job
                return job.state == job_pb2.JOB_STATE_SUCCEEDED

            await assert_eventually(succeeded, within=30)
    finally:
        await server.stop(0.5)
        # Flushes the batch; from a thread, as the exporter is blocking and the collector lives on this loop.
        await asyncio.to_thread(observability.close)
        await stage_server.stop(0)

    in_trace = [(service, span) for service, span in found.spans if span.trace_id.hex() == TRACE_ID]
    assert {service for service, _ in in_trace} == {"skillbridge-scheduler"}
    submit = [s for _, s in in_trace if s.name.endswith("/SubmitJob")]
    assert len(submit) == 1 and submit[0].kind == trace_pb2.Span.SPAN_KIND_SERVER
    assert submit[0].parent_span_id.hex() == PARENT_SPAN
    stage_spans = [s for _, s in in_trace if s.name.startswith("stage ")]
    assert [s.name.removeprefix("stage ") for s in stage_spans] == STAGES
    assert all(s.parent_span_id == submit[0].span_id for s in stage_spans)
    assert all(s.kind == trace_pb2.Span.SPAN_KIND_CLIENT for s in stage_spans)


def test_without_an_endpoint_no_exporter_is_imported() -> None:
    code = (
        "import sys, asyncio\n"
        "from services.common.settings import Settings\n"
        "from services.common.observability import Observability\n"
        "from services.scheduler import server\n"
        "o = Observability.for_process(Settings.from_env({}), 'scheduler', 0)\n"
        "assert not o.spans.exporting\n"
        # redis-py imports the OpenTelemetry metrics SDK for itself; the trace SDK and exporters stay out.
        "names = ('opentelemetry.exporter', 'opentelemetry.sdk.trace', 'services.common.otlp')\n"
        "bad = sorted(m for m in sys.modules if m.startswith(names))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=60)
