"""The course-recommendation job: six stages, each a call to a stage service, in order.

Stage by stage the context records start, end, a summary and figures, so watchers see the job move. The
result is built as the CourseRecommendationResult proto and stored as its JSON form.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from skillbridge.common.v1 import course_pb2
from skillbridge.ner.v1 import ner_service_pb2
from skillbridge.recommendation.v1 import recommendation_service_pb2
from skillbridge.retrieval.v1 import retrieval_service_pb2
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.similarity.v1 import similarity_service_pb2

from services.scheduler.dispatcher import JobContext
from services.scheduler.model import JobRecord, Stage
from services.scheduler.stage_clients import StageClients

COURSES_PER_SKILL = 5
MAX_RECOMMENDED = 5


class CourseRecommendationHandler:
    """Runs ENTITY_RECOGNITION -> SKILL_EXTRACTION -> SIMILARITY_ANALYSIS -> COURSE_RETRIEVAL ->
    RECOMMENDATION -> SCORING through the stage services."""

    def __init__(self, clients: StageClients) -> None:
        self._clients = clients

    async def run(self, job: JobRecord, ctx: JobContext) -> dict[str, Any]:
        c = self._clients
        texts = [job.input["resume_text"], job.input["job_description_text"]]
        threshold = float(job.input.get("threshold") or 0.5)
        result = job_pb2.CourseRecommendationResult()

        async with ctx.stage(Stage.ENTITY_RECOGNITION) as report:
            entities = await c.call(
                Stage.ENTITY_RECOGNITION, c.ner.ExtractEntities, ner_service_pb2.ExtractEntitiesRequest(texts=texts)
            )
            resume_ents, job_ents = entities.documents[0].entities, entities.documents[1].entities
            result.resume_entities.extend(job_pb2.NamedEntity(text=e.text, label=e.label) for e in resume_ents)
            result.job_entities.extend(job_pb2.NamedEntity(text=e.text, label=e.label) for e in job_ents)
            report.metrics = {"resume_entities": len(resume_ents), "job_entities": len(job_ents)}
            report.summary = f"{len(resume_ents)} entities in the resume, {len(job_ents)} in the job description"

        async with ctx.stage(Stage.SKILL_EXTRACTION) as report:
            skills = await c.call(
                Stage.SKILL_EXTRACTION, c.ner.ExtractSkills, ner_service_pb2.ExtractSkillsRequest(texts=texts)
            )
            user_skills = [s.name for s in skills.documents[0].skills]
            job_skills = [s.name for s in skills.documents[1].skills]
            result.user_skills.extend(user_skills)
            result.job_skills.extend(job_skills)
            report.metrics = {"skills_found": len(user_skills), "job_skills": len(job_skills)}
            report.summary = f"{len(user_skills)} resume skills, {len(job_skills)} job skills"

        async with ctx.stage(Stage.SIMILARITY_ANALYSIS) as report:
            if job_skills:
                comparison = await c.call(
                    Stage.SIMILARITY_ANALYSIS,
                    c.similarity.CompareSkills,
                    similarity_service_pb2.CompareSkillsRequest(
                        resume_skills=user_skills, job_skills=job_skills, threshold=threshold
                    ),
                )
                missing = list(comparison.missing_skills)
                current_score = comparison.overall_score
                result.matching_details.matches.extend(comparison.matches)
            else:
                missing, current_score = [], 0.0
            result.skill_gap.extend(missing)
            result.matching_details.overall_score = current_score
            result.matching_details.threshold = threshold
            report.metrics = {
                "matched": len(job_skills) - len(missing),
                "missing": len(missing),
                "score": current_score,
            }
            report.summary = f"{len(job_skills) - len(missing)} of {len(job_skills)} job skills covered"

        async with ctx.stage(Stage.COURSE_RETRIEVAL) as report:
            candidates: dict[str, course_pb2.Course] = {}
            if missing:
                found = await c.call(
                    Stage.COURSE_RETRIEVAL,
                    c.retrieval.SearchCourses,
                    retrieval_service_pb2.SearchCoursesRequest(queries=missing, top_k=COURSES_PER_SKILL),
                )
                for query in found.results:
                    for scored in query.courses:
                        candidates.setdefault(scored.course.id, scored.course)
            report.metrics = {"candidates": len(candidates)}
            report.summary = f"{len(candidates)} candidate courses for {len(missing)} missing skills"

        async with ctx.stage(Stage.RECOMMENDATION) as report:
            if candidates:
                ranked = await c.call(
                    Stage.RECOMMENDATION,
                    c.recommendation.RecommendCourses,
                    recommendation_service_pb2.RecommendCoursesRequest(
                        missing_skills=missing,
                        resume_skills=user_skills,
                        job_skills=job_skills,
                        candidates=list(candidates.values()),
                        max_courses=MAX_RECOMMENDED,
                    ),
                )
                chosen = list(ranked.courses)
                result.recommendations_text = ranked.summary
                result.matching_details.recommendation_backend = ranked.backend
                result.matching_details.fallback_reason = ranked.fallback_reason
            else:
                chosen = []
                result.recommendations_text = (
                    "Your resume already covers every skill this job asks for."
                    if not missing
                    else "No course in the catalog teaches the missing skills."
                )
            report.metrics = {"recommended": len(chosen)}
            report.summary = f"{len(chosen)} courses recommended"

        async with ctx.stage(Stage.SCORING) as report:
            scores: dict[str, Any] = {}
            if chosen:
                scored = await c.call(
                    Stage.SCORING,
                    c.recommendation.ScoreCourses,
                    recommendation_service_pb2.ScoreCoursesRequest(
                        resume_skills=user_skills,
                        job_skills=job_skills,
                        missing_skills=missing,
                        current_score=current_score,
                        courses=[r.course for r in chosen],
                    ),
                )
                scores = {s.course_id: s for s in scored.scores}
            for rec in chosen:
                score = scores.get(rec.course.id)
                result.recommended_courses.add(
                    course=rec.course,
                    covered_skills=rec.covered_skills,
                    rationale=rec.rationale,
                    potential_score=score.potential_score if score else current_score,
                    score_improvement=score.score_improvement if score else 0.0,
                )
            best = max((r.potential_score for r in result.recommended_courses), default=current_score)
            report.metrics = {"current_score": current_score, "best_potential_score": best}
            report.summary = f"score {current_score:.2f} now, up to {best:.2f} after one course"

        return json_format.MessageToDict(result, preserving_proto_field_name=True)
