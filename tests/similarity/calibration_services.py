"""The real NER and similarity services in this process, for the calibration tools (calibrate.py,
calibrate_text.py): each reads every dev pair through them and prints a curve."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc
from skillbridge.ner.v1 import ner_service_pb2, ner_service_pb2_grpc
from skillbridge.similarity.v1 import similarity_service_pb2_grpc

from services.common.embedding import MiniLmEmbedder
from services.common.settings import Settings
from services.ner import server as ner_server
from services.similarity import server as similarity_server
from tests.eval.dataset import EvalPair

# A pair's texts in the order ExtractSkills reads them.
KINDS = [ner_service_pb2.DOCUMENT_KIND_RESUME, ner_service_pb2.DOCUMENT_KIND_JOB_DESCRIPTION]


@dataclass(frozen=True)
class Stubs:
    ner: ner_service_pb2_grpc.NerServiceStub
    similarity: similarity_service_pb2_grpc.SimilarityServiceStub

    async def skills(
        self, pair: EvalPair, *, read_for_job: bool = False
    ) -> tuple[list[ner_service_pb2.ExtractedSkill], list[ner_service_pb2.ExtractedSkill]]:
        """The NER stage's skills of the pair's resume and of its job ad."""
        found = await self.ner.ExtractSkills(
            ner_service_pb2.ExtractSkillsRequest(
                texts=[pair.resume, pair.job_description], kinds=KINDS, read_for_job=read_for_job
            )
        )
        return list(found.documents[0].skills), list(found.documents[1].skills)


@asynccontextmanager
async def running_services(settings: Settings) -> AsyncIterator[Stubs]:
    """Starts both services on free ports (MiniLM for similarity), yields their stubs, and stops them."""
    embedder = await asyncio.to_thread(MiniLmEmbedder)
    ner = await ner_server.start(settings, port=0)
    similarity = await similarity_server.start(settings, port=0, embedder=embedder)
    try:
        async with (
            grpc.aio.insecure_channel(ner.address) as ner_channel,
            grpc.aio.insecure_channel(similarity.address) as similarity_channel,
        ):
            yield Stubs(
                ner_service_pb2_grpc.NerServiceStub(ner_channel),
                similarity_service_pb2_grpc.SimilarityServiceStub(similarity_channel),
            )
    finally:
        await similarity.stop(0)
        await ner.stop(0)
