"""What a span costs on the hot path: the OpenTelemetry SDK (extract the incoming traceparent, start and end a
span, inject the outgoing one) next to SkillBridge's own W3C propagation (services/common/tracing.py).

    python -m tests.bench.tracing_bench
"""

from __future__ import annotations

import json
import timeit
from typing import Any

TRACEPARENT = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"


def run(calls: int = 20_000) -> dict[str, Any]:
    from opentelemetry import trace
    from opentelemetry.propagate import extract, inject
    from opentelemetry.sdk.trace import TracerProvider

    from services.common import tracing

    tracer = TracerProvider().get_tracer("bench")
    spans = tracing.Spans()

    def otel_span() -> None:
        parent = extract({"traceparent": TRACEPARENT})
        with tracer.start_as_current_span("stage", context=parent, kind=trace.SpanKind.CLIENT):
            inject({})

    def own_span() -> None:
        span = spans.start("stage", TRACEPARENT, server=False)
        _ = span.context.traceparent
        span.end()

    otel = min(timeit.repeat(otel_span, number=calls, repeat=3)) / calls * 1e6
    own = min(timeit.repeat(own_span, number=calls, repeat=3)) / calls * 1e6
    return {"otel_sdk_span_us": otel, "own_span_us": own, "otel_vs_own": otel / own}


def main() -> None:
    print(json.dumps(run(), indent=1))


if __name__ == "__main__":
    main()
