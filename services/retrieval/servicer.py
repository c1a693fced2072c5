"""gRPC face of the retrieval service: converts proto <-> domain and calls core."""

from __future__ import annotations

from typing import Any

import grpc
from skillbridge.retrieval.v1 import retrieval_service_pb2 as pb
from skillbridge.retrieval.v1 import retrieval_service_pb2_grpc as pb_grpc

from services.common.course_proto import course_to_proto
from services.retrieval import core
from services.retrieval.backends import Index
from services.retrieval.skill_directory import SkillDirectory

Context = grpc.aio.ServicerContext[Any, Any]


class RetrievalServicer(pb_grpc.RetrievalServiceServicer):
    """SearchCourses and GetCatalog over one index built at start."""

    def __init__(
        self,
        *,
        embed: core.EmbedFn,
        index: Index,
        course_count: int,
        source: str,
        directory: SkillDirectory | None = None,
    ) -> None:
        self._embed = embed
        self._index = index
        self._directory = directory
        self._course_count = course_count
        self._source = source

    async def SearchCourses(self, request: pb.SearchCoursesRequest, context: Context) -> pb.SearchCoursesResponse:
        search = core.validate_search(
            request.queries,
            request.top_k,
            levels=request.filter.levels,
            max_duration_hours=request.filter.max_duration_hours,
            providers=request.filter.providers,
            fields=request.filter.fields,
            preferred_field=request.preferred_field,
        )
        results = await core.search(search, embed=self._embed, index=self._index, directory=self._directory)
        return pb.SearchCoursesResponse(
            results=[
                pb.QueryResult(
                    query=result.query,
                    courses=[pb.ScoredCourse(course=course_to_proto(s.course), score=s.score) for s in result.courses],
                )
                for result in results
            ]
        )

    async def GetCatalog(self, request: pb.GetCatalogRequest, context: Context) -> pb.GetCatalogResponse:
        return pb.GetCatalogResponse(course_count=self._course_count, source=self._source, backend=self._index.backend)
