"""gRPC servicer: converts proto messages to domain objects and back, and calls core / the ranker."""

from __future__ import annotations

import logging
from typing import Any

import grpc
from skillbridge.recommendation.v1 import recommendation_service_pb2 as pb
from skillbridge.recommendation.v1 import recommendation_service_pb2_grpc as pb_grpc

from services.common.course_proto import course_from_proto, course_to_proto
from services.recommendation import core
from services.recommendation.backends import Ranker
from services.recommendation.known_skills import Vocabulary

log = logging.getLogger(__name__)

Context = grpc.aio.ServicerContext[Any, Any]


class RecommendationServicer(pb_grpc.RecommendationServiceServicer):
    """RecommendationService over a ranker (local or Cohere) and the scoring functions of core."""

    def __init__(self, ranker: Ranker, vocabulary: Vocabulary | None = None) -> None:
        self._ranker = ranker
        self._vocabulary = vocabulary

    async def RecommendCourses(
        self, request: pb.RecommendCoursesRequest, context: Context
    ) -> pb.RecommendCoursesResponse:
        validated = core.validate_request(
            missing_skills=list(request.missing_skills),
            resume_skills=list(request.resume_skills),
            job_skills=list(request.job_skills),
            candidates=[course_from_proto(c) for c in request.candidates],
            max_courses=request.max_courses,
            vocabulary=self._vocabulary,
            job_field=request.job_field,
        )
        result = await self._ranker.recommend(validated)
        return pb.RecommendCoursesResponse(
            courses=[
                pb.RecommendedCourse(
                    course=course_to_proto(rec.course),
                    covered_skills=list(rec.covered_skills),
                    rationale=rec.rationale,
                    gap_coverage=rec.gap_coverage,
                )
                for rec in result.courses
            ],
            summary=result.summary,
            backend=result.backend,
            fallback_reason=result.fallback_reason,
            uncovered_skills=list(result.uncovered_skills),
        )

    async def ScoreCourses(self, request: pb.ScoreCoursesRequest, context: Context) -> pb.ScoreCoursesResponse:
        scores = core.score_courses(
            resume_skills=list(request.resume_skills),
            job_skills=list(request.job_skills),
            missing_skills=list(request.missing_skills),
            current_score=request.current_score,
            courses=[course_from_proto(c) for c in request.courses],
            vocabulary=self._vocabulary,
            nice_to_have_skills=list(request.nice_to_have_skills),
        )
        return pb.ScoreCoursesResponse(
            scores=[
                pb.CourseScore(
                    course_id=s.course_id,
                    potential_score=s.potential_score,
                    score_improvement=s.score_improvement,
                )
                for s in scores
            ]
        )
