"""Wiring of the similarity service: embedder, cache, micro-batcher, taxonomy, gRPC server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from skillbridge.similarity.v1 import similarity_service_pb2 as pb
from skillbridge.similarity.v1 import similarity_service_pb2_grpc as pb_grpc

from services.common.embedding import CachedEmbedder, Embedder, MicroBatcher, normalise_text
from services.common.observability import Observability
from services.common.server import RunningServer, create_server, serve_service
from services.common.taxonomy import Taxonomy
from services.similarity import backends
from services.similarity.calibration import calibrated_cosine
from services.similarity.servicer import SimilarityServicer
from services.similarity.settings import SimilaritySettings
from services.similarity.vocabulary_vectors import PrecomputedFirst, cache_path, read_vectors, write_vectors

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["SimilarityService"].full_name


async def start(
    settings: SimilaritySettings,
    *,
    port: int | None = None,
    embedder: Embedder | None = None,
    taxonomy: Taxonomy | None = None,
    observability: Observability | None = None,
) -> RunningServer:
    """Starts the service on `port` (default settings.similarity_port; 0 picks a free one).

    `embedder` defaults to MiniLM; wrapped in a cache unless it already is one. `taxonomy` defaults to
    data/skills.jsonl when present. Its skill names' vectors come from the file beside it when it holds this
    vocabulary under this model (services/similarity/vocabulary_vectors.py); otherwise they are embedded in
    the background once the server takes calls (stopped when it drains) and written there for the next start.
    """
    # A bad calibration setting must stop the start, not turn every CompareSkills into an INTERNAL error.
    calibrated_cosine(settings.similarity_threshold, settings.similarity_calibrated_threshold)
    if settings.similarity_text_calibrated_threshold:
        calibrated_cosine(settings.similarity_threshold, settings.similarity_text_calibrated_threshold)
    if embedder is None:
        embedder = await asyncio.to_thread(backends.load_embedder)
    # The vectors file belongs to the vocabulary file: only a vocabulary read from it may use or write it.
    vectors_file: Path | None = None
    if taxonomy is None:
        taxonomy = await asyncio.to_thread(backends.load_skill_taxonomy, settings)
        vectors_file = backends.taxonomy_path(settings)
    names = backends.vocabulary_names(taxonomy) if taxonomy is not None else []
    if vectors_file is not None:
        vectors_file = cache_path(vectors_file, names, embedder.model_name, embedder.dimensions)
    known = None
    if isinstance(embedder, CachedEmbedder):
        cached = embedder  # the caller's own cache: warmed in the background below
    else:
        if vectors_file is not None and names:
            known = await asyncio.to_thread(read_vectors, vectors_file, len(names), embedder.dimensions)
        table = dict(zip((normalise_text(n) for n in names), known, strict=True)) if known is not None else {}
        cached = CachedEmbedder(PrecomputedFirst(embedder, table))
        if known is not None:
            await asyncio.to_thread(cached.embed, names)  # from the table: fills the cache without the model
    batcher = MicroBatcher(cached, window_ms=settings.embed_batch_window_ms, max_batch=settings.embed_max_batch)
    servicer = SimilarityServicer(settings, batcher, taxonomy)
    running = await create_server(
        settings,
        register=lambda server: pb_grpc.add_SimilarityServiceServicer_to_server(servicer, server),
        service_names=[SERVICE_NAME],
        port=settings.similarity_port if port is None else port,
        observability=observability,
    )
    if names and known is None:
        running.on_drain.append(_warm_in_background(batcher, names, vectors_file, chunk=settings.embed_max_batch))
    # No drain hook for the batcher: its worker ends by itself once the in-flight calls have their rows.
    return running


def _warm_in_background(
    batcher: MicroBatcher, names: list[str], vectors_file: Path | None, *, chunk: int
) -> Callable[[], Awaitable[None]]:
    """Starts embedding the vocabulary's names through the batcher, writes them to `vectors_file` (if any) when
    done, and returns the drain hook that stops an unfinished warm-up."""

    async def warm() -> None:
        vectors = await backends.warm_vocabulary(batcher.embed, names, chunk=chunk)
        if vectors is not None and vectors_file is not None:
            await asyncio.to_thread(write_vectors, vectors_file, vectors)

    task = asyncio.create_task(warm())

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return stop


async def serve(settings: SimilaritySettings) -> None:
    """Runs the similarity service on settings.similarity_port until SIGTERM or SIGINT, then drains."""
    await serve_service(settings, "similarity", settings.similarity_metrics_port, start)
