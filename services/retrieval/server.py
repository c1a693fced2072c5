"""Wiring of the retrieval service: catalog, course vectors, index (exact or Pinecone), gRPC server."""

from __future__ import annotations

import asyncio
import logging

from skillbridge.retrieval.v1 import retrieval_service_pb2 as pb
from skillbridge.retrieval.v1 import retrieval_service_pb2_grpc as pb_grpc

from services.common.embedding import CachedEmbedder, Embedder, MicroBatcher, MiniLmEmbedder
from services.common.observability import Observability
from services.common.server import RunningServer, create_server, serve_service
from services.retrieval import backends
from services.retrieval.backends import ExactIndex, Index
from services.retrieval.servicer import RetrievalServicer
from services.retrieval.settings import RetrievalSettings
from services.retrieval.skill_directory import SkillDirectory, plain_key, vocabulary_key

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["RetrievalService"].full_name


def build_index(settings: RetrievalSettings) -> Index:
    """Pinecone when an API key is configured, else the in-process exact index."""
    if settings.pinecone_api_key:
        from services.retrieval.pinecone_index import PineconeIndex

        return PineconeIndex(
            api_key=settings.pinecone_api_key,
            host=settings.pinecone_host,
            namespace=settings.pinecone_namespace,
            # ~4 attempts (the SDK retries) must fit in the dispatcher's stage deadline.
            timeout_seconds=settings.stage_timeout_seconds / 8,
        )
    return ExactIndex()


async def start(
    settings: RetrievalSettings,
    *,
    port: int | None = None,
    embedder: Embedder | None = None,
    index: Index | None = None,
    observability: Observability | None = None,
) -> RunningServer:
    """Starts the service on `port` (default settings.retrieval_port; 0 picks a free one).

    The catalog is the imported one when present, else settings.catalog_path; its vectors come from the
    .npy cache beside it when the content is unchanged. The index is (re)built before serving.
    """
    if embedder is None:
        embedder = await asyncio.to_thread(MiniLmEmbedder)
    raw = embedder.inner if isinstance(embedder, CachedEmbedder) else embedder
    cached = embedder if isinstance(embedder, CachedEmbedder) else CachedEmbedder(embedder)
    courses, path = await asyncio.to_thread(backends.load_courses, settings)
    # Course texts go to the raw model: they would only crowd the query cache out.
    vectors = await asyncio.to_thread(backends.course_vectors, courses, raw, path)
    if index is None:
        index = build_index(settings)
    await asyncio.to_thread(index.build, courses, vectors)
    log.info("indexed %d courses from %s in the %s index", len(courses), path, index.backend)
    vocabulary = await asyncio.to_thread(backends.load_vocabulary, settings)
    key = vocabulary_key(vocabulary) if vocabulary is not None else plain_key
    directory = await asyncio.to_thread(SkillDirectory, courses, vectors, key=key)
    batcher = MicroBatcher(cached, window_ms=settings.embed_batch_window_ms, max_batch=settings.embed_max_batch)
    servicer = RetrievalServicer(
        embed=batcher.embed, index=index, course_count=len(courses), source=str(path), directory=directory
    )
    return await create_server(
        settings,
        register=lambda server: pb_grpc.add_RetrievalServiceServicer_to_server(servicer, server),
        service_names=[SERVICE_NAME],
        port=settings.retrieval_port if port is None else port,
        observability=observability,
    )


async def serve(settings: RetrievalSettings) -> None:
    """Runs the retrieval service on settings.retrieval_port until SIGTERM or SIGINT, then drains."""
    await serve_service(settings, "retrieval", settings.retrieval_metrics_port, start)
