"""Wiring of the similarity service: embedder, cache, micro-batcher, taxonomy, gRPC server."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from skillbridge.similarity.v1 import similarity_service_pb2 as pb
from skillbridge.similarity.v1 import similarity_service_pb2_grpc as pb_grpc

from services.common.embedding import CachedEmbedder, Embedder, MicroBatcher
from services.common.observability import Observability
from services.common.server import RunningServer, create_server, serve_service
from services.common.settings import Settings
from services.common.taxonomy import Taxonomy
from services.similarity import backends
from services.similarity.calibration import calibrated_cosine
from services.similarity.servicer import SimilarityServicer

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["SimilarityService"].full_name


async def start(
    settings: Settings,
    *,
    port: int | None = None,
    embedder: Embedder | None = None,
    taxonomy: Taxonomy | None = None,
    observability: Observability | None = None,
) -> RunningServer:
    """Starts the service on `port` (default settings.similarity_port; 0 picks a free one).

    `embedder` defaults to MiniLM; wrapped in a cache unless it already is one. `taxonomy` defaults to
    data/skills.jsonl when present; its skill names are embedded into the cache in the background once the server
    takes calls (stopped when it drains).
    """
    # A bad calibration setting must stop the start, not turn every CompareSkills into an INTERNAL error.
    calibrated_cosine(settings.similarity_threshold, settings.similarity_calibrated_threshold)
    if embedder is None:
        embedder = await asyncio.to_thread(backends.load_embedder)
    cached = embedder if isinstance(embedder, CachedEmbedder) else CachedEmbedder(embedder)
    if taxonomy is None:
        taxonomy = await asyncio.to_thread(backends.load_skill_taxonomy, settings)
    batcher = MicroBatcher(cached, window_ms=settings.embed_batch_window_ms, max_batch=settings.embed_max_batch)
    servicer = SimilarityServicer(settings, batcher, taxonomy)
    running = await create_server(
        settings,
        register=lambda server: pb_grpc.add_SimilarityServiceServicer_to_server(servicer, server),
        service_names=[SERVICE_NAME],
        port=settings.similarity_port if port is None else port,
        observability=observability,
    )
    if taxonomy is not None:
        warming = asyncio.create_task(backends.warm_vocabulary(batcher.embed, taxonomy, chunk=settings.embed_max_batch))

        async def stop_warming() -> None:
            warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await warming

        running.on_drain.append(stop_warming)
    # No drain hook for the batcher: its worker ends by itself once the in-flight calls have their rows.
    return running


async def serve(settings: Settings) -> None:
    """Runs the similarity service on settings.similarity_port until SIGTERM or SIGINT, then drains."""
    await serve_service(settings, "similarity", settings.similarity_metrics_port, start)
