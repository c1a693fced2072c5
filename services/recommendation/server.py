"""Wiring of the recommendation service: ranker from settings, servicer, server factory."""

from __future__ import annotations

import asyncio
import logging

from skillbridge.recommendation.v1 import recommendation_service_pb2 as pb
from skillbridge.recommendation.v1 import recommendation_service_pb2_grpc as pb_grpc

from services.common.observability import Observability
from services.common.server import RunningServer, create_server, serve_service
from services.recommendation.backends import Ranker, build_ranker, load_vocabulary
from services.recommendation.known_skills import Vocabulary
from services.recommendation.servicer import RecommendationServicer
from services.recommendation.settings import RecommendationSettings

log = logging.getLogger(__name__)

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["RecommendationService"].full_name


async def start(
    settings: RecommendationSettings,
    *,
    port: int | None = None,
    ranker: Ranker | None = None,
    vocabulary: Vocabulary | None = None,
    observability: Observability | None = None,
) -> RunningServer:
    """Starts the service on `port` (settings.recommendation_port when None; 0 picks a free one).

    The ranker is built from settings (Cohere when a key is set) unless one is given; it is closed when the
    server drains. The skill vocabulary (aliases and `covers` relations, to tell what a resume already shows)
    is data/skills.jsonl unless one is given; without it, skill names are compared as written.
    """
    chosen = ranker if ranker is not None else build_ranker(settings)
    if vocabulary is None:
        vocabulary = await asyncio.to_thread(load_vocabulary, settings)
    servicer = RecommendationServicer(chosen, vocabulary)
    running = await create_server(
        settings,
        register=lambda server: pb_grpc.add_RecommendationServiceServicer_to_server(servicer, server),
        service_names=[SERVICE_NAME],
        port=settings.recommendation_port if port is None else port,
        observability=observability,
    )
    running.on_drain.append(chosen.close)
    return running


async def serve(settings: RecommendationSettings) -> None:
    """Runs the recommendation service on settings.recommendation_port until SIGTERM or SIGINT, then drains."""
    await serve_service(settings, "recommendation", settings.recommendation_metrics_port, start)
