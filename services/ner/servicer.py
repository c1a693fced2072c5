"""gRPC servicer of skillbridge.ner.v1.NerService: converts proto <-> domain and calls the core.

The models are CPU-bound, so each call runs in a worker thread; the event loop stays free for other RPCs and
health checks. Domain errors (InvalidArgument) propagate and the shared interceptor maps them to gRPC status.
"""

from __future__ import annotations

import asyncio
import functools
import logging

import grpc
from skillbridge.ner.v1 import ner_service_pb2, ner_service_pb2_grpc

from services.common.batching import BatchRunner
from services.ner.core import NerCore, validate_texts
from services.ner.model import DocumentEntities, DocumentKind, DocumentSkills

log = logging.getLogger(__name__)


class NerServicer(ner_service_pb2_grpc.NerServiceServicer):
    """Serves ExtractEntities and ExtractSkills over a NerCore."""

    def __init__(self, core: NerCore, *, batch_window_ms: float = 0.0, max_batch: int = 32) -> None:
        self._core = core
        # The statistical NER model is the slowest step of a job: concurrent jobs' texts share one model call.
        self._entities = BatchRunner(core.extract_entities, window_ms=batch_window_ms, max_batch=max_batch)

    async def ExtractEntities(
        self,
        request: ner_service_pb2.ExtractEntitiesRequest,
        context: grpc.aio.ServicerContext,  # type: ignore[type-arg]
    ) -> ner_service_pb2.ExtractEntitiesResponse:
        texts = list(request.texts)
        validate_texts(texts)  # per request, so one bad request cannot fail a batch it shares with others
        documents = await self._entities.run(texts)
        return ner_service_pb2.ExtractEntitiesResponse(documents=[_entities_to_proto(d) for d in documents])

    async def ExtractSkills(
        self,
        request: ner_service_pb2.ExtractSkillsRequest,
        context: grpc.aio.ServicerContext,  # type: ignore[type-arg]
    ) -> ner_service_pb2.ExtractSkillsResponse:
        kinds = [_KINDS.get(kind, DocumentKind.RESUME) for kind in request.kinds]
        documents = await asyncio.to_thread(
            functools.partial(self._core.extract_skills, guided=request.read_for_job), list(request.texts), kinds
        )
        return ner_service_pb2.ExtractSkillsResponse(documents=[_skills_to_proto(d) for d in documents])


_KINDS = {
    ner_service_pb2.DOCUMENT_KIND_RESUME: DocumentKind.RESUME,
    ner_service_pb2.DOCUMENT_KIND_JOB_DESCRIPTION: DocumentKind.JOB_DESCRIPTION,
}


def _entities_to_proto(document: DocumentEntities) -> ner_service_pb2.DocumentEntities:
    return ner_service_pb2.DocumentEntities(
        entities=[
            ner_service_pb2.Entity(
                text=e.text, label=e.label, start_char=e.start_char, end_char=e.end_char, source=e.source
            )
            for e in document.entities
        ],
        truncated=document.truncated,
    )


def _skills_to_proto(document: DocumentSkills) -> ner_service_pb2.DocumentSkills:
    return ner_service_pb2.DocumentSkills(
        skills=[
            ner_service_pb2.ExtractedSkill(
                name=s.name,
                category=s.category,
                mentions=list(s.mentions),
                count=s.count,
                confidence=s.confidence,
                skill_id=s.skill_id,
                required=s.required,
                evidence=s.evidence,
                method=s.method,
            )
            for s in document.skills
        ],
        truncated=document.truncated,
        field=document.field,
        occupations=document.occupations,
    )
