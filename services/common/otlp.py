"""Span export over OTLP/gRPC through the OpenTelemetry SDK. Imported only when SKILLBRIDGE_OTLP_ENDPOINT is
set (services.common.tracing.spans_from_settings); nothing else in SkillBridge imports OpenTelemetry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from services.common.tracing import OpenSpan, TraceContext

# How long shutdown waits for the last spans to leave.
FLUSH_MILLIS = 5_000


@dataclass
class _OtelSpan:
    span: trace.Span
    context: TraceContext

    def end(self, error: str | None = None) -> None:
        if error is not None:
            self.span.set_status(trace.Status(trace.StatusCode.ERROR, error))
        self.span.end()


class OtlpSink:
    """Spans made by an OpenTelemetry tracer and batched to an OTLP collector."""

    def __init__(self, provider: TracerProvider) -> None:
        self._provider = provider
        self._tracer = provider.get_tracer("skillbridge")

    @classmethod
    def create(cls, endpoint: str, service: str) -> OtlpSink:
        # Plain-text gRPC for http:// endpoints (a collector beside the services); TLS for https://.
        insecure = not endpoint.startswith("https://")
        provider = TracerProvider(resource=Resource.create({"service.name": f"skillbridge-{service}"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=insecure)))
        return cls(provider)

    def start(self, name: str, parent: TraceContext | None, *, server: bool, attributes: Mapping[str, str]) -> OpenSpan:
        context = None
        if parent is not None:
            remote = trace.SpanContext(
                trace_id=int(parent.trace_id, 16),
                span_id=int(parent.span_id, 16),
                is_remote=True,
                trace_flags=trace.TraceFlags(parent.flags),
            )
            context = trace.set_span_in_context(trace.NonRecordingSpan(remote))
        kind = trace.SpanKind.SERVER if server else trace.SpanKind.CLIENT
        span = self._tracer.start_span(name, context=context, kind=kind, attributes=dict(attributes))
        own = span.get_span_context()
        return _OtelSpan(span, TraceContext(f"{own.trace_id:032x}", f"{own.span_id:016x}", int(own.trace_flags)))

    def force_flush(self) -> bool:
        return self._provider.force_flush(FLUSH_MILLIS)

    def shutdown(self) -> None:
        self._provider.force_flush(FLUSH_MILLIS)
        self._provider.shutdown()
