"""gRPC face of the similarity service: converts proto <-> domain and calls core."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
from skillbridge.common.v1 import course_pb2
from skillbridge.similarity.v1 import similarity_service_pb2 as pb
from skillbridge.similarity.v1 import similarity_service_pb2_grpc as pb_grpc

from services.common.embedding import MicroBatcher
from services.common.taxonomy import Taxonomy
from services.similarity import core
from services.similarity.settings import SimilaritySettings
from services.similarity.text_coverage import validate_resume_text

Context = grpc.aio.ServicerContext[Any, Any]


_KINDS = {
    core.MatchKind.EXACT: course_pb2.MATCH_KIND_EXACT,
    core.MatchKind.ALIAS: course_pb2.MATCH_KIND_ALIAS,
    core.MatchKind.RELATED: course_pb2.MATCH_KIND_RELATED,
    core.MatchKind.SEMANTIC: course_pb2.MATCH_KIND_SEMANTIC,
    core.MatchKind.MISSING: course_pb2.MATCH_KIND_MISSING,
}


def _match_to_proto(match: core.SkillMatch) -> course_pb2.SkillMatch:
    return course_pb2.SkillMatch(
        job_skill=match.job_skill,
        resume_skill=match.resume_skill,
        score=match.score,
        kind=_KINDS[match.kind],
        evidence=match.evidence,
        required=match.required,
        skill_id=match.skill_id,
    )


def _details(skills: Sequence[course_pb2.Skill]) -> list[core.SkillInput]:
    return [core.SkillInput(s.name, skill_id=s.skill_id, required=s.required, evidence=s.evidence) for s in skills]


class SimilarityServicer(pb_grpc.SimilarityServiceServicer):
    """Embed and CompareSkills over one shared, cached, micro-batched embedder."""

    def __init__(self, settings: SimilaritySettings, batcher: MicroBatcher, taxonomy: Taxonomy | None) -> None:
        self._settings = settings
        self._batcher = batcher
        self._taxonomy = taxonomy

    async def Embed(self, request: pb.EmbedRequest, context: Context) -> pb.EmbedResponse:
        texts = core.validate_texts(request.texts, max_chars=self._settings.max_text_chars)
        vectors = await self._batcher.embed(texts)
        return pb.EmbedResponse(
            embeddings=[pb.Embedding(values=row.tolist()) for row in vectors],
            model=self._batcher.model_name,
            dimensions=self._batcher.dimensions,
        )

    async def CompareSkills(self, request: pb.CompareSkillsRequest, context: Context) -> pb.CompareSkillsResponse:
        # The NER stage's details when the caller has them (ids, required flags, evidence), else the names.
        detailed_resume, detailed_job = bool(request.resume_skill_details), bool(request.job_skill_details)
        result = await core.compare_skills(
            _details(request.resume_skill_details) if detailed_resume else list(request.resume_skills),
            _details(request.job_skill_details) if detailed_job else list(request.job_skills),
            request.threshold if request.HasField("threshold") else None,
            embed=self._batcher.embed,
            default_threshold=self._settings.similarity_threshold,
            calibrated_threshold=self._settings.similarity_calibrated_threshold,
            vocabulary=self._taxonomy,
            resume_field="resume_skill_details" if detailed_resume else "resume_skills",
            job_field="job_skill_details" if detailed_job else "job_skills",
            resume_text=validate_resume_text(request.resume_text, max_chars=self._settings.max_text_chars),
            text_calibrated_threshold=self._settings.similarity_text_calibrated_threshold or None,
        )
        return pb.CompareSkillsResponse(
            matches=[_match_to_proto(m) for m in result.matches],
            missing_skills=result.missing_skills,
            overall_score=result.overall_score,
            best_matches=[_match_to_proto(m) for m in result.best_matches],
            calibrated_threshold=result.calibrated_threshold,
        )
