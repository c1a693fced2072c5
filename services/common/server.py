"""The one server factory every service uses: grpc.aio with health, reflection, interceptors, size limits
and a graceful drain on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer

from services.common.compute import limit_threads
from services.common.interceptors import ErrorMappingInterceptor, ObservingInterceptor, WrappingRegistrar
from services.common.observability import Observability
from services.common.process_settings import CommonSettings
from services.common.tracing import Spans

log = logging.getLogger(__name__)

Register = Callable[[grpc.aio.Server], None]


@dataclass
class RunningServer:
    """A started server, the port it bound, and the health servicer that reports for it."""

    server: grpc.aio.Server
    port: int
    health: HealthServicer
    service_names: Sequence[str]
    on_drain: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def stop(self, grace: float) -> None:
        """Drains within `grace` seconds in all: health goes NOT_SERVING, drain hooks run, in-flight RPCs get
        what is left of the grace, then stop."""
        deadline = time.monotonic() + max(grace, 0.0)
        await self.health.enter_graceful_shutdown()
        for hook in self.on_drain:
            await hook()
        await self.server.stop(max(deadline - time.monotonic(), 0.0))


async def create_server(
    settings: CommonSettings,
    *,
    register: Register,
    service_names: Iterable[str],
    port: int,
    host: str | None = None,
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),  # type: ignore[type-arg]
    observability: Observability | None = None,
) -> RunningServer:
    """Builds and starts a server. Port 0 binds a free port (tests); the bound port is returned.
    With `observability`, RPCs are counted and timed in its registry and its spans are exported; without,
    trace context is still propagated and logged."""
    names = list(service_names)
    # The service's models are loaded by now (see compute.limit_threads); its requests share these threads.
    limit_threads(settings.compute_threads)
    observing = (
        ObservingInterceptor(observability.spans, observability.rpc) if observability else ObservingInterceptor(Spans())
    )
    options: list[tuple[str, int]] = [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.so_reuseport", 0),
    ]
    if settings.max_connection_age_seconds > 0:
        # In-flight calls get a grace period (a stage deadline's worth by default) before the connection is dropped.
        options += [
            ("grpc.max_connection_age_ms", int(settings.max_connection_age_seconds * 1000)),
            ("grpc.max_connection_age_grace_ms", int(settings.max_connection_age_grace_seconds * 1000)),
        ]
    server = grpc.aio.server(interceptors=list(interceptors) or None, options=options)
    # The observing wrapper is outermost, so it sees the status code the error mapping settled on.
    registrar = WrappingRegistrar(server, [observing, ErrorMappingInterceptor()])
    register(registrar)  # type: ignore[arg-type]  # registration only calls the add_* methods it has
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, registrar)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
        ReflectionServicer(
            [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME]
        ),
        registrar,
    )
    bound = server.add_insecure_port(f"{host or settings.host}:{port}")
    if bound == 0:
        raise OSError(f"could not bind {host or settings.host}:{port}")
    await server.start()
    for name in ["", *names]:
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("serving %s on port %d", ", ".join(names), bound)
    return RunningServer(server=server, port=bound, health=health, service_names=names)


async def serve_until_signal(
    running: RunningServer, grace: float, drain: Callable[[float], Awaitable[None]] | None = None
) -> None:
    """Waits for SIGTERM or SIGINT, then drains gracefully within `grace` seconds: with `drain` (a process's own
    drain, given the grace) when given, else the server's."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.ensure_future(running.server.wait_for_termination())
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if stop.is_set():
        log.info("signal received: draining for up to %.1f s", grace)
        began = time.monotonic()
        await (drain or running.stop)(grace)
        log.info("drained in %.2f s (grace %.1f s)", time.monotonic() - began, grace)
    waiter.cancel()
    stopper.cancel()


async def serve_service(
    settings: CommonSettings, name: str, metrics_port: int, start: Callable[..., Awaitable[RunningServer]]
) -> None:
    """Runs a service built by `start(settings, observability=...)` with its metrics on `metrics_port`, until
    SIGTERM or SIGINT, then drains it: the `serve()` of every stage service."""
    observability = Observability.for_process(settings, name, metrics_port)
    try:
        running = await start(settings, observability=observability)
        await serve_until_signal(running, settings.shutdown_grace_seconds)
    finally:
        observability.close()


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Runs an async entry point on uvloop (a faster event loop) when it is installed."""
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:  # pragma: no cover - uvloop is a dependency, this is for odd platforms
        asyncio.run(main())
