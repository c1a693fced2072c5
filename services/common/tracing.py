"""W3C trace context (`traceparent`) carried through gRPC metadata, and the spans each hop makes.

Every hop keeps the trace id and makes a new span id: the gateway starts or continues a trace and sends
`outgoing_metadata(...)` to the scheduler; the scheduler's server interceptor opens a span for SubmitJob, the job
stores that span's traceparent, and each stage call becomes a child span whose traceparent goes to the stage
service in the call's metadata. Log lines carry the trace id (services.common.logs).

Ids are made here, so propagation works with no tracing SDK at all. Spans leave the process only when
SKILLBRIDGE_OTLP_ENDPOINT is set: then `spans_from_settings` builds an OpenTelemetry exporter (imported only in
that case, from services.common.otlp).

Why this is not the OpenTelemetry API with its gRPC instrumentation: a span is on the hot path of every RPC
(SubmitJob takes about 1 ms end to end) and of every stage call. `make bench` measures both ways
(tests/bench/tracing_bench.py, in the raw ceilings): extracting a traceparent, starting and ending a span and
injecting the next costs 24-90 us with the OpenTelemetry SDK (which is what generates ids; the API alone is a
no-op that makes none) and 5-13 us here, 4-7x less, in two runs on these shared machines. So propagation and
spans stay here, and OpenTelemetry is used where it pays: the OTLP export.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from services.common.logs import reset_var, trace_id_var
from services.common.process_settings import CommonSettings

log = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
# The traceparent of the span in hand: the server span of an RPC, or the stored context of a running job.
traceparent_var: contextvars.ContextVar[str] = contextvars.ContextVar("traceparent", default="")

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$")
SAMPLED = 0x01


@dataclass(frozen=True)
class TraceContext:
    """One span's place in a trace: the ids and flags a traceparent carries."""

    trace_id: str
    span_id: str
    flags: int = SAMPLED

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags:02x}"

    def child(self) -> TraceContext:
        """The same trace, a new span id."""
        return TraceContext(self.trace_id, _new_span_id(), self.flags)

    @classmethod
    def new_root(cls) -> TraceContext:
        ids = os.urandom(24).hex()  # both ids from one read of the system's random source
        return cls(ids[:32], ids[32:], SAMPLED)


def _new_span_id() -> str:
    return os.urandom(8).hex()


def parse_traceparent(value: str | None) -> TraceContext | None:
    """The context in a W3C traceparent header, or None when it is absent or malformed (version ff, all-zero
    ids and bad hex are rejected, as the spec asks; a receiver then starts a new trace)."""
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if match is None:
        return None
    version, trace_id, span_id, flags = match.groups()
    if version == "ff" or trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    if version == "00" and len(value.strip()) != 55:
        return None  # version 00 has exactly four fields
    return TraceContext(trace_id, span_id, int(flags, 16))


def current_traceparent() -> str:
    """The traceparent of the span in hand in this task, or "" outside any."""
    return traceparent_var.get()


def outgoing_metadata(incoming: str | None = None) -> tuple[tuple[str, str], ...]:
    """The metadata pair to send on a gRPC call: a child of `incoming` (an HTTP `traceparent` header, say), else
    of the span in hand, else the root of a new trace. The gateway calls this for each request it forwards:
    `stub.SubmitJob(request, metadata=outgoing_metadata(request.headers.get("traceparent")))`."""
    parent = parse_traceparent(incoming) or parse_traceparent(current_traceparent())
    context = parent.child() if parent else TraceContext.new_root()
    return ((TRACEPARENT, context.traceparent),)


def traceparent_of(metadata: Iterable[tuple[str, Any]] | None) -> str:
    """The traceparent value in gRPC invocation metadata (pairs), or ""."""
    for key, value in metadata or ():
        if key == TRACEPARENT and isinstance(value, str):
            return value
    return ""


def enter_trace(traceparent: str) -> Callable[[], None]:
    """Makes `traceparent` the span in hand (and its trace id the one logged) in this context; returns the
    function that restores the previous one."""
    context = parse_traceparent(traceparent)
    span_token = traceparent_var.set(context.traceparent if context else "")
    trace_token = trace_id_var.set(context.trace_id if context else "")

    def leave() -> None:
        reset_var(trace_id_var, trace_token)
        reset_var(traceparent_var, span_token)

    return leave


@contextlib.contextmanager
def in_trace(traceparent: str) -> Iterator[None]:
    """`enter_trace` for a block."""
    leave = enter_trace(traceparent)
    try:
        yield
    finally:
        leave()


class OpenSpan(Protocol):
    """A started span: its context (to propagate), and how it ends."""

    @property
    def context(self) -> TraceContext: ...

    def end(self, error: str | None = None) -> None: ...


class SpanSink(Protocol):
    """Starts spans that leave the process (an OpenTelemetry tracer behind OTLP)."""

    def start(
        self, name: str, parent: TraceContext | None, *, server: bool, attributes: Mapping[str, str]
    ) -> OpenSpan: ...

    def shutdown(self) -> None: ...


@dataclass
class _LocalSpan:
    context: TraceContext

    def end(self, error: str | None = None) -> None:
        """Nothing to record: without an exporter a span is only its ids."""


class Spans:
    """Makes spans for one process. Without a sink, spans are only ids (propagation and logs); with one,
    each span is also exported."""

    def __init__(self, sink: SpanSink | None = None) -> None:
        self._sink = sink

    @property
    def exporting(self) -> bool:
        return self._sink is not None

    def start(self, name: str, parent: str, *, server: bool, attributes: Mapping[str, str] | None = None) -> OpenSpan:
        """A child span of the `parent` traceparent (a new trace when it is empty or malformed)."""
        context = parse_traceparent(parent)
        if self._sink is None:
            return _LocalSpan(context.child() if context else TraceContext.new_root())
        try:
            return self._sink.start(name, context, server=server, attributes=attributes or {})
        except Exception:  # tracing must never fail the work it observes
            log.exception("could not start span %s", name)
            return _LocalSpan(context.child() if context else TraceContext.new_root())

    @contextlib.contextmanager
    def span(self, name: str, parent: str, *, server: bool = False) -> Iterator[TraceContext]:
        """Runs the enclosed code as a span; yields its context, whose traceparent goes downstream."""
        opened = self.start(name, parent, server=server)
        error: str | None = None
        try:
            yield opened.context
        except BaseException as exc:
            error = type(exc).__name__
            raise
        finally:
            opened.end(error)

    def shutdown(self) -> None:
        """Flushes and stops the exporter, if any."""
        if self._sink is not None:
            self._sink.shutdown()


def spans_from_settings(settings: CommonSettings, service: str) -> Spans:
    """Spans exported over OTLP when settings.otlp_endpoint is set, ids only otherwise."""
    if not settings.otlp_endpoint:
        return Spans()
    from services.common.otlp import OtlpSink  # imported only when exporting

    log.info("exporting spans of %s over OTLP to %s", service, settings.otlp_endpoint)
    return Spans(OtlpSink.create(settings.otlp_endpoint, service))
