"""Prometheus metrics of the gateway: request counts and latencies by route, in a registry per app."""

from __future__ import annotations

import time

from fastapi import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class GatewayMetrics:
    """The gateway's counters. One registry per app, so several apps in one process (tests) do not clash."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "skillbridge_gateway_requests",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "skillbridge_gateway_request_seconds",
            "Time to the response headers, by route template.",
            ["method", "route"],
            registry=self.registry,
        )

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Pure ASGI (not BaseHTTPMiddleware) so streamed SSE responses pass through untouched."""

        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = [500]

            async def recording_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status[0] = message["status"]
                    self.latency.labels(scope["method"], _route(scope)).observe(time.perf_counter() - started)
                await send(message)

            try:
                await app(scope, receive, recording_send)
            finally:
                self.requests.labels(scope["method"], _route(scope), str(status[0])).inc()

        return wrapped

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def _route(scope: Scope) -> str:
    # The router records the matched route in the (shared) scope; its template keeps label cardinality low.
    return str(getattr(scope.get("route"), "path", "unmatched"))
