"""Wiring of the NER service: builds the backends (unless given), the core and the gRPC server."""

from __future__ import annotations

import asyncio
import logging

from skillbridge.ner.v1 import ner_service_pb2, ner_service_pb2_grpc

from services.common.observability import Observability
from services.common.server import RunningServer, create_server, serve_service
from services.ner.backends import SpacyNer
from services.ner.core import NerCore
from services.ner.matcher import VocabularyMatcher
from services.ner.model import EntityRecognizer, VocabularyFinder
from services.ner.servicer import NerServicer
from services.ner.settings import NerSettings

log = logging.getLogger(__name__)

SERVICE_NAME = ner_service_pb2.DESCRIPTOR.services_by_name["NerService"].full_name
TAXONOMY_FILE = "skills.jsonl"
OCCUPATIONS_FILE = "occupations.jsonl"


async def start(
    settings: NerSettings,
    *,
    port: int | None = None,
    skills: VocabularyFinder | None = None,
    entities: EntityRecognizer | None = None,
    observability: Observability | None = None,
) -> RunningServer:
    """Starts the NER server on `port` (default settings.ner_port; 0 picks a free one).

    Backends not passed in are built from settings: the vocabulary from settings.data_dir (skills.jsonl and
    occupations.jsonl) and the spaCy model settings.spacy_model. Loading happens in a thread so an event loop
    shared with other work is not blocked for the seconds it takes.
    """
    if skills is None:
        skills = await asyncio.to_thread(
            VocabularyMatcher.from_files,
            settings.data_dir / TAXONOMY_FILE,
            settings.data_dir / OCCUPATIONS_FILE,
            prose_window=settings.ner_prose_window,
        )
    if entities is None:
        entities = await asyncio.to_thread(SpacyNer.load, settings.spacy_model)
    core = NerCore(
        skills=skills,
        entities=entities,
        max_text_chars=settings.max_text_chars,
        cache_size=settings.ner_cache_texts,
    )
    servicer = NerServicer(core, batch_window_ms=settings.ner_batch_window_ms, max_batch=settings.ner_max_batch)
    return await create_server(
        settings,
        register=lambda server: ner_service_pb2_grpc.add_NerServiceServicer_to_server(servicer, server),
        service_names=[SERVICE_NAME],
        port=settings.ner_port if port is None else port,
        observability=observability,
    )


async def serve(settings: NerSettings) -> None:
    """Runs the NER service on settings.ner_port until SIGTERM or SIGINT, then drains."""
    await serve_service(settings, "ner", settings.ner_metrics_port, start)
