"""gRPC channels and stubs for the four stage services, and the one way the dispatcher calls them.

Every call has a deadline. A call that finds its service unreachable (UNAVAILABLE, or a wait-for-ready try that
ran out of time before the channel connected) is an outage, not a failure: the job says it is waiting for the
service, and the call is tried again with capped exponential backoff and jitter, with wait-for-ready, each try's
deadline bounded by the stage timeout and what is left of the outage budget. When the budget runs out the job
goes back to the queue (ServiceOutage). Any other error fails the job at once (StageFailed).

Each service has a circuit breaker (services/scheduler/breaker.py) fed by its stage calls and by its gRPC
health (services/scheduler/stage_health.py); the dispatcher starts no job while one is open.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import grpc
from skillbridge.ner.v1 import ner_service_pb2, ner_service_pb2_grpc
from skillbridge.recommendation.v1 import recommendation_service_pb2, recommendation_service_pb2_grpc
from skillbridge.retrieval.v1 import retrieval_service_pb2, retrieval_service_pb2_grpc
from skillbridge.similarity.v1 import similarity_service_pb2, similarity_service_pb2_grpc

from services.common import tracing
from services.scheduler.backoff import Backoff, OutageBudget
from services.scheduler.breaker import BreakerConfig, Breakers
from services.scheduler.job_context import ServiceOutage, StageFailed
from services.scheduler.metrics import SchedulerMetrics
from services.scheduler.model import SERVICE_OF_STAGE, STAGE_SERVICES, Stage
from services.scheduler.settings import SchedulerSettings
from services.scheduler.stage_health import HealthWatcher, ServiceSignals

log = logging.getLogger(__name__)
Req = TypeVar("Req")
Resp = TypeVar("Resp")

# The name each service registers with its health servicer (services/<service>/server.py).
HEALTH_NAMES = {
    "ner": ner_service_pb2.DESCRIPTOR.services_by_name["NerService"].full_name,
    "similarity": similarity_service_pb2.DESCRIPTOR.services_by_name["SimilarityService"].full_name,
    "retrieval": retrieval_service_pb2.DESCRIPTOR.services_by_name["RetrievalService"].full_name,
    "recommendation": recommendation_service_pb2.DESCRIPTOR.services_by_name["RecommendationService"].full_name,
}


def channel_for(addresses: str, max_message_bytes: int, reconnect: Backoff | None = None) -> grpc.aio.Channel:
    """One channel per service. Several comma-separated addresses are balanced round-robin, and a dead
    replica is skipped by the balancer. While a service is down the channel tries to reconnect at most
    `reconnect.maximum` apart (gRPC's own default grows to two minutes: far too long to notice a restart)."""
    parts = [a.strip() for a in addresses.split(",") if a.strip()]
    target = parts[0] if len(parts) == 1 else "ipv4:" + ",".join(parts)
    options: list[tuple[str, int | str]] = [
        ("grpc.lb_policy_name", "round_robin"),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.enable_retries", 0),
    ]
    if reconnect is not None:
        first_ms = max(int(reconnect.initial * 1000), 100)
        options += [
            ("grpc.initial_reconnect_backoff_ms", first_ms),
            ("grpc.min_reconnect_backoff_ms", first_ms),
            ("grpc.max_reconnect_backoff_ms", max(int(reconnect.maximum * 1000), first_ms)),
        ]
    return grpc.aio.insecure_channel(target, options=options)


class OutageListener(Protocol):
    """Told when a job starts and stops waiting for a stage service (the dispatcher's JobContext)."""

    async def service_waiting(self, stage: Stage, service: str, reason: str, budget: float) -> None: ...

    async def service_recovered(self, stage: Stage, service: str, waited: float) -> None: ...


@dataclass
class StageClients:
    """Stubs of the stage services and the call policy. `for_job` gives a copy that reports one job's waits."""

    ner: ner_service_pb2_grpc.NerServiceAsyncStub
    similarity: similarity_service_pb2_grpc.SimilarityServiceAsyncStub
    retrieval: retrieval_service_pb2_grpc.RetrievalServiceAsyncStub
    recommendation: recommendation_service_pb2_grpc.RecommendationServiceAsyncStub
    timeout: float
    outage_budget: float
    backoff: Backoff
    breakers: Breakers
    signals: ServiceSignals
    channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)
    health: HealthWatcher | None = None
    spans: tracing.Spans = field(default_factory=tracing.Spans)
    metrics: SchedulerMetrics | None = None
    listener: OutageListener | None = None
    # Budgets are measured on a monotonic clock; jitter draws from `rand`.
    clock: Callable[[], float] = time.monotonic
    rand: Callable[[], float] = random.random
    # Called (with the service) whenever a breaker changes state: the dispatcher's claim loop wakes on it.
    on_change: Callable[[str], None] = lambda service: None

    @classmethod
    def from_settings(
        cls,
        settings: SchedulerSettings,
        *,
        spans: tracing.Spans | None = None,
        metrics: SchedulerMetrics | None = None,
        on_change: Callable[[str], None] = lambda service: None,
    ) -> StageClients:
        size = settings.max_message_bytes
        backoff = Backoff(settings.stage_retry_initial_seconds, settings.stage_retry_max_seconds)
        addresses = {
            "ner": settings.ner_address,
            "similarity": settings.similarity_address,
            "retrieval": settings.retrieval_address,
            "recommendation": settings.recommendation_address,
        }
        channels = {name: channel_for(address, size, backoff) for name, address in addresses.items()}
        config = BreakerConfig(
            failure_threshold=settings.breaker_failure_threshold,
            cooldown=Backoff(settings.breaker_cooldown_seconds, settings.breaker_cooldown_max_seconds),
            probe_timeout=settings.stage_timeout_seconds,
        )
        breakers = Breakers(STAGE_SERVICES, config, clock=time.time, rand=random.random)
        clients = cls(
            ner=ner_service_pb2_grpc.NerServiceStub(channels["ner"]),
            similarity=similarity_service_pb2_grpc.SimilarityServiceStub(channels["similarity"]),
            retrieval=retrieval_service_pb2_grpc.RetrievalServiceStub(channels["retrieval"]),
            recommendation=recommendation_service_pb2_grpc.RecommendationServiceStub(channels["recommendation"]),
            timeout=settings.stage_timeout_seconds,
            outage_budget=settings.stage_outage_budget_seconds,
            backoff=backoff,
            breakers=breakers,
            signals=ServiceSignals(list(STAGE_SERVICES)),
            channels=channels,
            spans=spans or tracing.Spans(),
            metrics=metrics,
            on_change=on_change,
        )
        clients.health = HealthWatcher(
            channels, HEALTH_NAMES, breakers, on_change=clients.changed, backoff=backoff, rand=random.random
        )
        return clients

    def start(self) -> None:
        """Starts following the services' health (needs a running event loop)."""
        if self.health is not None:
            self.health.start()

    def for_job(self, listener: OutageListener) -> StageClients:
        """The same clients, telling `listener` when a call of this job waits for its service."""
        return dataclasses.replace(self, listener=listener)

    def changed(self, service: str) -> None:
        """A breaker changed state: waiting calls retry now, the claim loop looks again."""
        self.signals.changed(service)
        self.on_change(service)

    def _failed(self, service: str, reason: str) -> None:
        breaker = self.breakers[service]
        before = breaker.state
        if breaker.on_failure(reason):
            log.warning("%s service: %s -> %s (%s)", service, before.value, breaker.state.value, reason)
            self.changed(service)

    def _served(self, service: str) -> None:
        breaker = self.breakers[service]
        before = breaker.state
        if breaker.on_success():
            log.info("%s service: %s -> %s", service, before.value, breaker.state.value)
            self.changed(service)

    def _unreachable(self, service: str, exc: grpc.aio.AioRpcError, budget: OutageBudget, cut: bool) -> bool:
        """Whether a failed try means the service could not be reached (wait and retry) rather than that it
        answered with an error (fail the job). A wait-for-ready try that timed out is an outage when the channel
        never connected, or when its deadline was cut short by the budget."""
        code = exc.code()
        if code is grpc.StatusCode.UNAVAILABLE:
            return True
        if code is grpc.StatusCode.DEADLINE_EXCEEDED and budget.waiting:
            channel = self.channels.get(service)
            connected = channel is not None and channel.get_state() is grpc.ChannelConnectivity.READY
            return cut or not connected
        return False

    async def call(self, stage: Stage, rpc: grpc.aio.UnaryUnaryMultiCallable[Req, Resp], request: Req) -> Resp:
        """Calls `rpc` for `stage`; waits out an unreachable service within the outage budget (raising
        ServiceOutage once it is spent); any other failure raises StageFailed naming the stage.

        Each try is a client span, a child of the job's trace (the traceparent in hand), whose own traceparent
        goes to the stage service in the call's metadata."""
        service = SERVICE_OF_STAGE[stage]
        budget = OutageBudget(self.outage_budget)
        parent = tracing.current_traceparent()
        try:
            while True:
                timeout = budget.try_timeout(self.clock(), self.timeout)
                span = self.spans.start(f"stage {stage.value}", parent, server=False)
                try:
                    response = await rpc(
                        request,
                        timeout=timeout,
                        wait_for_ready=budget.waiting,
                        metadata=((tracing.TRACEPARENT, span.context.traceparent),),
                    )
                except grpc.aio.AioRpcError as exc:
                    span.end(exc.code().name)
                    if not self._unreachable(service, exc, budget, cut=timeout < self.timeout):
                        raise self._stage_failed(stage, exc) from exc
                    await self._wait(stage, service, exc, budget)
                    continue
                except BaseException as exc:  # cancelled with its job, say: the span still ends
                    span.end(type(exc).__name__)
                    raise
                span.end()
                self._served(service)
                if budget.waiting:
                    waited = budget.waited(self.clock())
                    log.info("%s: the %s service answered again after %.1f s", stage.value, service, waited)
                    self.breakers.wait_ended(service)
                    budget.started = None  # the wait is over (the finally below has nothing to undo)
                    if self.listener is not None:
                        await self.listener.service_recovered(stage, service, waited)
                return response
        finally:
            if budget.waiting:
                self.breakers.wait_ended(service)

    async def _wait(self, stage: Stage, service: str, exc: grpc.aio.AioRpcError, budget: OutageBudget) -> None:
        """One failed try of an unreachable service: say so (once), give up when the budget is spent, else
        pause (until the backoff passes or the service's state changes)."""
        cause = f"{exc.code().name}: {exc.details() or ''}".rstrip(": ")
        self._failed(service, cause)
        now = self.clock()
        if not budget.waiting:
            budget.begin(now, cause)
            self.breakers.wait_began(service)
            log.warning(
                "%s: the %s service is unreachable (%s); waiting up to %g s", stage, service, cause, budget.seconds
            )
            if self.listener is not None:
                await self.listener.service_waiting(stage, service, cause, budget.seconds)
        if budget.spent(now):
            raise ServiceOutage(stage, service, budget.cause, budget.waited(now), budget.seconds)
        if self.metrics is not None:
            self.metrics.stage_retries.labels(stage.value).inc()
        delay = budget.next_delay(now, self.backoff, self.rand())
        log.info("%s: %s service unreachable, retry %d in %.2f s", stage.value, service, budget.retries, delay)
        await self.signals.wait(service, delay)

    def _stage_failed(self, stage: Stage, exc: grpc.aio.AioRpcError) -> StageFailed:
        code = exc.code()
        if self.metrics is not None:
            self.metrics.stage_errors.labels(stage.value, code.name).inc()
        message = f"{stage.value} failed: {code.name}: {exc.details() or ''}".rstrip(": ")
        return StageFailed(stage, code.value[0], message)

    async def close(self) -> None:
        if self.health is not None:
            await self.health.close()
        for channel in self.channels.values():
            await channel.close(None)
