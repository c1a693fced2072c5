"""All four stage services in one process, sharing one embedding model.

Used by the end-to-end tests, the evaluation and the benchmarks; production runs each service as its own
process (`skillbridge up`), and both layouts speak the same gRPC.
"""

from __future__ import annotations

import asyncio
import signal
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


async def start_stage_services(settings: Settings, *, free_ports: bool = True) -> StageStack:
    """Starts NER, similarity, retrieval and recommendation on free ports, or on the settings' ports."""
    embedder = await asyncio.to_thread(MiniLmEmbedder)

    def pick(configured: int) -> int:
        return 0 if free_ports else configured

    ner, similarity, retrieval, recommendation = await asyncio.gather(
        ner_server.start(settings, port=pick(settings.ner_port)),
        similarity_server.start(settings, port=pick(settings.similarity_port), embedder=embedder),
        retrieval_server.start(settings, port=pick(settings.retrieval_port), embedder=embedder),
        recommendation_server.start(settings, port=pick(settings.recommendation_port)),
    )
    servers = {"ner": ner, "similarity": similarity, "retrieval": retrieval, "recommendation": recommendation}
    wired = settings.replace(
        ner_address=ner.address,
        similarity_address=similarity.address,
        retrieval_address=retrieval.address,
        recommendation_address=recommendation.address,
    )
    return StageStack(servers=servers, settings=wired)


async def serve(settings: Settings) -> None:
    """The four stage services in this one process on the settings' ports, until SIGTERM or SIGINT."""
    stack = await start_stage_services(settings, free_ports=False)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await stack.stop(settings.shutdown_grace_seconds)


if __name__ == "__main__":
    # python -m services.stack: the stage services as one process (one copy of the embedding model).
    from services.common.logs import configure_logging
    from services.common.server import run

    main_settings = Settings.from_env()
    configure_logging(main_settings.log_level, json_lines=main_settings.log_json, service="stages")
    run(lambda: serve(main_settings))
