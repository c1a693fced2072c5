"""Follows each stage service's gRPC health (grpc.health.v1 Watch on the name the service registers) and feeds
what it hears into that service's circuit breaker; wakes whoever waits for a service when its state changes.

While a service is down its Watch is re-opened with wait-for-ready, so the first SERVING after a restart is
heard as soon as the channel connects. A service that does not implement the health protocol (UNIMPLEMENTED)
is left to its stage calls and the breaker's cool-down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.tasks import cancel_and_wait
from services.scheduler.backoff import Backoff
from services.scheduler.breaker import Breakers, Health

log = logging.getLogger(__name__)

SERVING = health_pb2.HealthCheckResponse.SERVING


class ServiceSignals:
    """One wake-up per service: set when the service's breaker changes state, then replaced by a fresh one."""

    def __init__(self, services: list[str]) -> None:
        self._events = {name: asyncio.Event() for name in services}

    def changed(self, service: str) -> None:
        event = self._events.get(service)
        if event is not None:
            event.set()
            self._events[service] = asyncio.Event()

    async def wait(self, service: str, within: float) -> bool:
        """Waits up to `within` seconds for the service's next change; True when it changed."""
        event = self._events.get(service)
        if event is None or within <= 0:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), within)
        return event.is_set()


class HealthWatcher:
    """One task per stage service, watching its health and reporting into `breakers`."""

    def __init__(
        self,
        channels: Mapping[str, grpc.aio.Channel],
        health_names: Mapping[str, str],
        breakers: Breakers,
        *,
        on_change: Callable[[str], None],
        backoff: Backoff,
        rand: Callable[[], float],
    ) -> None:
        self._channels, self._names, self._breakers = channels, health_names, breakers
        self._on_change, self._backoff, self._rand = on_change, backoff, rand
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._watch(service), name=f"health-{service}") for service in self._channels
        ]

    async def close(self) -> None:
        await cancel_and_wait(*self._tasks)
        self._tasks = []

    def _report(self, service: str, health: Health, reason: str = "") -> None:
        breaker = self._breakers[service]
        before = breaker.state
        if breaker.on_health(health, reason):
            log.info("%s service: %s -> %s (%s)", service, before.value, breaker.state.value, reason or health.value)
            self._on_change(service)

    async def _watch(self, service: str) -> None:
        stub = health_pb2_grpc.HealthStub(self._channels[service])
        request = health_pb2.HealthCheckRequest(service=self._names[service])
        failures = 0
        while True:
            # Fail fast while nothing is known (so a service that is down at start is reported down); once it is
            # known down, wait for the channel to connect instead of spinning.
            down = self._breakers[service].health is Health.DOWN
            call = stub.Watch(request, wait_for_ready=down)
            try:
                async for response in call:
                    failures = 0
                    if response.status == SERVING:
                        self._report(service, Health.SERVING)
                    else:
                        name = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
                        self._report(service, Health.DOWN, f"health: {name}")
                self._report(service, Health.DOWN, "health stream ended")
            except grpc.aio.AioRpcError as exc:
                if exc.code() is grpc.StatusCode.UNIMPLEMENTED:
                    log.info("%s service has no health service: its stage calls alone drive its breaker", service)
                    return
                self._report(service, Health.DOWN, f"{exc.code().name}: {exc.details() or ''}".rstrip(": "))
            finally:
                call.cancel()
            # Re-open the watch after a pause that grows while the stream keeps failing at once.
            await asyncio.sleep(self._backoff.delay(failures, self._rand()))  # a retry timer, not synchronisation
            failures += 1
