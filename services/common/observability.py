"""What a process observes itself with: its metrics registry, RPC figures, spans, and the metrics endpoint.
Built once in serve() (or by a test) and passed to create_server and the parts that record figures."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from services.common.metrics import MetricsServer, RpcMetrics, serve_metrics
from services.common.process_settings import CommonSettings
from services.common.tracing import Spans, spans_from_settings


@dataclass
class Observability:
    """A registry of its own (never prometheus_client's global one), RPC metrics in it, and the span maker."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    spans: Spans = field(default_factory=Spans)
    metrics_server: MetricsServer | None = None
    rpc: RpcMetrics = field(init=False)

    def __post_init__(self) -> None:
        self.rpc = RpcMetrics.create(self.registry)

    @classmethod
    def for_process(cls, settings: CommonSettings, service: str, metrics_port: int) -> Observability:
        """Serves the registry on `metrics_port` (0 = off) and exports spans when settings.otlp_endpoint is set."""
        observed = cls(spans=spans_from_settings(settings, service))
        observed.metrics_server = serve_metrics(observed.registry, metrics_port, settings.host)
        return observed

    def close(self) -> None:
        """Stops the metrics endpoint and flushes spans still to export."""
        if self.metrics_server is not None:
            self.metrics_server.close()
            self.metrics_server = None
        self.spans.shutdown()
