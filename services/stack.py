"""All four stage services in one process, sharing one embedding model.

Used by the end-to-end tests, the evaluation and the benchmarks; production runs each service as its own
process (`skillbridge up`), and both layouts speak the same gRPC.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass

from services.common.embedding import MiniLmEmbedder
from services.common.server import RunningServer
from services.common.settings import Settings
from services.ner import server as ner_server
from services.recommendation import server as recommendation_server
from services.retrieval import server as retrieval_server
from services.similarity import server as similarity_server


@dataclass
class StageStack:
    """The running stage services and the settings that point a scheduler at them."""

    servers: dict[str, RunningServer]
    settings: Settings

    async def stop(self, grace: float = 0.5) -> None:
        await asyncio.gather(*(s.stop(grace) for s in self.servers.values()))


async def start_stage_services(settings: Settings, *, port: int = 0) -> StageStack:
    """Starts NER, similarity, retrieval and recommendation on free ports (port=0) or the settings' ports."""
    embedder = await asyncio.to_thread(MiniLmEmbedder)

    def pick(configured: int) -> int:
        return configured if port != 0 else 0

    ner, similarity, retrieval, recommendation = await asyncio.gather(
        ner_server.start(settings, port=pick(settings.ner_port)),
        similarity_server.start(settings, port=pick(settings.similarity_port), embedder=embedder),
        retrieval_server.start(settings, port=pick(settings.retrieval_port), embedder=embedder),
        recommendation_server.start(settings, port=pick(settings.recommendation_port)),
    )
    servers = {"ner": ner, "similarity": similarity, "retrieval": retrieval, "recommendation": recommendation}
    wired = dataclasses.replace(
        settings,
        ner_address=ner.address,
        similarity_address=similarity.address,
        retrieval_address=retrieval.address,
        recommendation_address=recommendation.address,
    )
    return StageStack(servers=servers, settings=wired)
