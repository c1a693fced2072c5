"""gRPC channels and stubs for the four stage services, and the one way the dispatcher calls them:
a deadline on every call and retries with backoff on UNAVAILABLE only."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TypeVar

import grpc
from skillbridge.ner.v1 import ner_service_pb2_grpc
from skillbridge.recommendation.v1 import recommendation_service_pb2_grpc
from skillbridge.retrieval.v1 import retrieval_service_pb2_grpc
from skillbridge.similarity.v1 import similarity_service_pb2_grpc

from services.common import tracing
from services.scheduler.dispatcher import StageFailed
from services.scheduler.metrics import SchedulerMetrics
from services.scheduler.model import Stage
from services.scheduler.settings import SchedulerSettings

log = logging.getLogger(__name__)
Req = TypeVar("Req")
Resp = TypeVar("Resp")

RETRY_BACKOFF_SECONDS = 0.1


def channel_for(addresses: str, max_message_bytes: int) -> grpc.aio.Channel:
    """One channel per service. Several comma-separated addresses are balanced round-robin, and a dead
    replica is skipped by the balancer."""
    parts = [a.strip() for a in addresses.split(",") if a.strip()]
    target = parts[0] if len(parts) == 1 else "ipv4:" + ",".join(parts)
    options = [
        ("grpc.lb_policy_name", "round_robin"),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.enable_retries", 0),
    ]
    return grpc.aio.insecure_channel(target, options=options)


@dataclass
class StageClients:
    """Stubs of the stage services and the call policy."""

    ner: ner_service_pb2_grpc.NerServiceAsyncStub
    similarity: similarity_service_pb2_grpc.SimilarityServiceAsyncStub
    retrieval: retrieval_service_pb2_grpc.RetrievalServiceAsyncStub
    recommendation: recommendation_service_pb2_grpc.RecommendationServiceAsyncStub
    timeout: float
    retries: int
    channels: tuple[grpc.aio.Channel, ...] = ()
    spans: tracing.Spans = field(default_factory=tracing.Spans)
    metrics: SchedulerMetrics | None = None

    @classmethod
    def from_settings(
        cls, settings: SchedulerSettings, *, spans: tracing.Spans | None = None, metrics: SchedulerMetrics | None = None
    ) -> StageClients:
        size = settings.max_message_bytes
        ner = channel_for(settings.ner_address, size)
        sim = channel_for(settings.similarity_address, size)
        ret = channel_for(settings.retrieval_address, size)
        rec = channel_for(settings.recommendation_address, size)
        return cls(
            ner=ner_service_pb2_grpc.NerServiceStub(ner),
            similarity=similarity_service_pb2_grpc.SimilarityServiceStub(sim),
            retrieval=retrieval_service_pb2_grpc.RetrievalServiceStub(ret),
            recommendation=recommendation_service_pb2_grpc.RecommendationServiceStub(rec),
            timeout=settings.stage_timeout_seconds,
            retries=settings.stage_retries,
            channels=(ner, sim, ret, rec),
            spans=spans or tracing.Spans(),
            metrics=metrics,
        )

    async def call(self, stage: Stage, rpc: grpc.aio.UnaryUnaryMultiCallable[Req, Resp], request: Req) -> Resp:
        """Calls `rpc` with a deadline; retries UNAVAILABLE with exponential backoff; any other failure (and
        UNAVAILABLE after the last retry) raises StageFailed naming the stage.

        Each call is a client span, a child of the job's trace (the traceparent in hand), whose own traceparent
        goes to the stage service in the call's metadata."""
        parent = tracing.current_traceparent()
        for attempt in range(self.retries + 1):
            span = self.spans.start(f"stage {stage.value}", parent, server=False)
            try:
                response = await rpc(
                    request, timeout=self.timeout, metadata=((tracing.TRACEPARENT, span.context.traceparent),)
                )
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
                span.end(code.name)
                if code is grpc.StatusCode.UNAVAILABLE and attempt < self.retries:
                    if self.metrics is not None:
                        self.metrics.stage_retries.labels(stage.value).inc()
                    delay = RETRY_BACKOFF_SECONDS * 2**attempt
                    log.info("%s: stage service unavailable, retry %d in %.1f s", stage.value, attempt + 1, delay)
                    await asyncio.sleep(delay)
                    continue
                if self.metrics is not None:
                    self.metrics.stage_errors.labels(stage.value, code.name).inc()
                message = f"{stage.value} failed: {code.name}: {exc.details() or ''}".rstrip(": ")
                raise StageFailed(stage, code.value[0], message) from exc
            except BaseException as exc:  # cancelled with its job, say: the span still ends
                span.end(type(exc).__name__)
                raise
            span.end()
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close(None)
