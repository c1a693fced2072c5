"""Prometheus metrics of a process: a registry made in serve() (never the global one), the RPC figures every
gRPC server records, and the HTTP endpoint that serves the registry on the process's metrics port."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

log = logging.getLogger(__name__)

# Seconds: from sub-millisecond queue calls to model stages of tens of seconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True)
class RpcMetrics:
    """Handled RPCs by service, method and status code, and their latency (names as go-grpc-prometheus)."""

    handled: Counter
    latency: Histogram
    # The labelled children of each method and code, kept once made: labels() takes a lock and checks its
    # values on every call, two of them per RPC.
    _children: dict[tuple[str, str], tuple[Any, Any]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def create(cls, registry: CollectorRegistry) -> RpcMetrics:
        return cls(
            handled=Counter(
                "grpc_server_handled",
                "RPCs completed on the server, by service, method and gRPC status code.",
                ["grpc_service", "grpc_method", "grpc_code"],
                registry=registry,
            ),
            latency=Histogram(
                "grpc_server_handling_seconds",
                "Time from the request to the last response message, by service and method.",
                ["grpc_service", "grpc_method"],
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
        )

    def observe(self, full_method: str, code: str, seconds: float) -> None:
        children = self._children.get((full_method, code))
        if children is None:
            service, _, method = full_method.lstrip("/").rpartition("/")
            children = (self.handled.labels(service, method, code), self.latency.labels(service, method))
            self._children[(full_method, code)] = children
        children[0].inc()
        children[1].observe(seconds)


@dataclass
class MetricsServer:
    """The HTTP server (a daemon thread) that answers GET /metrics from one registry."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def serve_metrics(registry: CollectorRegistry, port: int, host: str) -> MetricsServer | None:
    """Serves `registry` on host:port; port 0 means metrics are off (returns None). A port that cannot be bound
    raises OSError: a process silently without metrics is worse than one that does not start."""
    if port <= 0:
        return None
    server, thread = start_http_server(port, addr=host, registry=registry)
    running = MetricsServer(server, thread)
    log.info("metrics on http://%s:%d/metrics", host, running.port)
    return running
