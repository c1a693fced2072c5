"""The job handlers: the course-recommendation analysis (one small function per stage, each a typed call to a
stage service), the no-op job, and the ranking of finished analyses.

Stage by stage the context records start, end, a summary and figures, so watchers see the job move. The
analysis result is built as the CourseRecommendationResult proto.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from skillbridge.common.v1 import course_pb2
from skillbridge.ner.v1 import ner_service_pb2
from skillbridge.recommendation.v1 import recommendation_service_pb2
from skillbridge.retrieval.v1 import retrieval_service_pb2
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.similarity.v1 import similarity_service_pb2

from services.scheduler.job_context import JobContext, StageReport
from services.scheduler.model import CourseInput, JobRecord, NoopInput, Stage
from services.scheduler.stage_clients import StageClients

COURSES_PER_SKILL = 5
MAX_RECOMMENDED = 5
# What one request to a stage service may carry (each service documents and enforces its own; a test keeps these in
# step). A long resume and job ad can find more skills, gaps and candidate courses than that, and an analysis must
# not fail for it: skills beyond the cap are the least certain ones, gaps are searched in several requests, and the
# candidates are taken in turn from each gap's best.
MAX_COMPARED_SKILLS = 500  # similarity: resume skills and job skills, each
MAX_QUERIES = 256  # retrieval: gaps searched in one request
MAX_CANDIDATES = 500  # recommendation: candidate courses


def most_certain(skills: list[ner_service_pb2.ExtractedSkill], cap: int) -> list[ner_service_pb2.ExtractedSkill]:
    """At most `cap` skills: the required, then the most confident, kept in the order they were found."""
    if len(skills) <= cap:
        return skills
    ranked = sorted(range(len(skills)), key=lambda i: (not skills[i].required, -skills[i].confidence, i))
    return [skills[i] for i in sorted(ranked[:cap])]


def take_in_turn(ranked_lists: list[list[course_pb2.Course]], cap: int) -> dict[str, course_pb2.Course]:
    """Up to `cap` distinct courses: every list's best first, then every list's second, and so on."""
    taken: dict[str, course_pb2.Course] = {}
    depth = max((len(courses) for courses in ranked_lists), default=0)
    for rank in range(depth):
        for courses in ranked_lists:
            if rank < len(courses):
                taken.setdefault(courses[rank].id, courses[rank])
                if len(taken) >= cap:
                    return taken
    return taken


class NoopHandler:
    """The job with no stages: returns its payload. It measures the queue, nothing else."""

    async def run(self, job: JobRecord, ctx: JobContext) -> bytes:
        payload = job.input.payload if isinstance(job.input, NoopInput) else b""
        return bytes(job_pb2.NoopInput(payload=payload).SerializeToString())


class RankAnalysesHandler:
    """Ranks the course-recommendation jobs it depended on by their match score, best first."""

    async def run(self, job: JobRecord, ctx: JobContext) -> bytes:
        ranked: list[job_pb2.RankedAnalysis] = []
        for dep in await ctx.dependencies():
            result = job_pb2.CourseRecommendationResult.FromString(dep.result or b"")
            score = result.matching_details.overall_score
            potentials = [c.potential_score for c in result.recommended_courses]
            ranked.append(
                job_pb2.RankedAnalysis(
                    job_id=dep.id,
                    overall_score=score,
                    missing_skills=len(result.skill_gap),
                    best_potential_score=max(potentials, default=score),
                )
            )
        ranked.sort(key=lambda r: (-r.overall_score, r.job_id))
        return bytes(job_pb2.RankAnalysesResult(ranked=ranked).SerializeToString())


# --- the course-recommendation analysis ---------------------------------------------------------------------


@dataclass
class Analysis:
    """What the stages of one analysis hand on to each other, and the result they build."""

    resume_text: str
    job_text: str
    threshold: float
    result: job_pb2.CourseRecommendationResult = field(default_factory=job_pb2.CourseRecommendationResult)
    resume_skills: list[ner_service_pb2.ExtractedSkill] = field(default_factory=list)
    job_skills: list[ner_service_pb2.ExtractedSkill] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    # The occupational field read from the job ad ("" when unsure): courses of that field are preferred.
    job_field: str = ""
    # The match score users read (SEED.md): the share of the job's skills the resume covers. Course potential
    # scores and improvements are on the same scale, so "+N points" adds up to what the page and CLI show.
    current_score: float = 0.0
    candidates: dict[str, course_pb2.Course] = field(default_factory=dict)
    chosen: list[recommendation_service_pb2.RecommendedCourse] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [self.resume_text, self.job_text]

    @property
    def user_skill_names(self) -> list[str]:
        return [s.name for s in self.resume_skills]

    @property
    def job_skill_names(self) -> list[str]:
        return [s.name for s in self.job_skills]


def skill_details(skills: list[ner_service_pb2.ExtractedSkill]) -> list[course_pb2.Skill]:
    return [
        course_pb2.Skill(name=s.name, skill_id=s.skill_id, required=s.required, evidence=s.evidence) for s in skills
    ]


async def recognize_entities(c: StageClients, a: Analysis, report: StageReport) -> None:
    entities = await c.call(
        Stage.ENTITY_RECOGNITION, c.ner.ExtractEntities, ner_service_pb2.ExtractEntitiesRequest(texts=a.texts)
    )
    resume_ents, job_ents = entities.documents[0].entities, entities.documents[1].entities
    a.result.resume_entities.extend(job_pb2.NamedEntity(text=e.text, label=e.label) for e in resume_ents)
    a.result.job_entities.extend(job_pb2.NamedEntity(text=e.text, label=e.label) for e in job_ents)
    report.metrics = {"resume_entities": len(resume_ents), "job_entities": len(job_ents)}
    report.summary = f"{len(resume_ents)} entities in the resume, {len(job_ents)} in the job description"


async def extract_skills(c: StageClients, a: Analysis, report: StageReport) -> None:
    kinds = [ner_service_pb2.DOCUMENT_KIND_RESUME, ner_service_pb2.DOCUMENT_KIND_JOB_DESCRIPTION]
    skills = await c.call(
        Stage.SKILL_EXTRACTION,
        c.ner.ExtractSkills,
        # One application: the resume is read knowing what the job ad asks for (see the NER service).
        ner_service_pb2.ExtractSkillsRequest(texts=a.texts, kinds=kinds, read_for_job=True),
    )
    found = (len(skills.documents[0].skills), len(skills.documents[1].skills))
    a.resume_skills = most_certain(list(skills.documents[0].skills), MAX_COMPARED_SKILLS)
    a.job_skills = most_certain(list(skills.documents[1].skills), MAX_COMPARED_SKILLS)
    a.result.user_skills.extend(a.user_skill_names)
    a.result.job_skills.extend(a.job_skill_names)
    a.job_field = a.result.matching_details.job_field = skills.documents[1].field
    report.metrics = {"skills_found": len(a.resume_skills), "job_skills": len(a.job_skills)}
    report.summary = f"{len(a.resume_skills)} resume skills, {len(a.job_skills)} job skills"
    left_out = sum(found) - len(a.resume_skills) - len(a.job_skills)
    if left_out:
        report.metrics["skills_left_out"] = left_out
        report.summary += f" ({left_out} less certain ones left out: at most {MAX_COMPARED_SKILLS} a side)"


async def compare_skills(c: StageClients, a: Analysis, report: StageReport) -> None:
    details = a.result.matching_details
    if a.job_skills:
        comparison = await c.call(
            Stage.SIMILARITY_ANALYSIS,
            c.similarity.CompareSkills,
            similarity_service_pb2.CompareSkillsRequest(
                resume_skills=a.user_skill_names,
                job_skills=a.job_skill_names,
                threshold=a.threshold,
                resume_skill_details=skill_details(a.resume_skills),
                job_skill_details=skill_details(a.job_skills),
                # The resume's own words: a job skill it shows without naming it is still covered.
                resume_text=a.resume_text,
            ),
        )
        a.missing = list(comparison.missing_skills)
        details.overall_score = comparison.overall_score
        details.matches.extend(comparison.matches)
        details.job_skill_matches.extend(comparison.best_matches)
        details.calibrated_threshold = comparison.calibrated_threshold
    a.result.skill_gap.extend(a.missing)
    details.threshold = a.threshold
    matched = len(a.job_skills) - len(a.missing)
    a.current_score = matched / len(a.job_skills) if a.job_skills else 0.0
    report.metrics = {"matched": matched, "missing": len(a.missing), "score": a.current_score}
    report.summary = f"{matched} of {len(a.job_skills)} job skills covered"


async def retrieve_courses(c: StageClients, a: Analysis, report: StageReport) -> None:
    ranked_lists: list[list[course_pb2.Course]] = []
    for start in range(0, len(a.missing), MAX_QUERIES):
        found = await c.call(
            Stage.COURSE_RETRIEVAL,
            c.retrieval.SearchCourses,
            retrieval_service_pb2.SearchCoursesRequest(
                queries=a.missing[start : start + MAX_QUERIES], top_k=COURSES_PER_SKILL, preferred_field=a.job_field
            ),
        )
        ranked_lists.extend([scored.course for scored in query.courses] for query in found.results)
    a.candidates = take_in_turn(ranked_lists, MAX_CANDIDATES)
    report.metrics = {"candidates": len(a.candidates)}
    report.summary = f"{len(a.candidates)} candidate courses for {len(a.missing)} missing skills"


async def recommend_courses(c: StageClients, a: Analysis, report: StageReport) -> None:
    if a.candidates:
        ranked = await c.call(
            Stage.RECOMMENDATION,
            c.recommendation.RecommendCourses,
            recommendation_service_pb2.RecommendCoursesRequest(
                missing_skills=a.missing,
                resume_skills=a.user_skill_names,
                job_skills=a.job_skill_names,
                candidates=list(a.candidates.values()),
                max_courses=MAX_RECOMMENDED,
                job_field=a.job_field,
            ),
        )
        a.chosen = list(ranked.courses)
        a.result.uncovered_skills.extend(ranked.uncovered_skills)
        a.result.recommendations_text = ranked.summary
        a.result.matching_details.recommendation_backend = ranked.backend
        a.result.matching_details.fallback_reason = ranked.fallback_reason
    else:
        a.result.recommendations_text = (
            "Your resume already covers every skill this job asks for."
            if not a.missing
            else "No course in the catalog teaches the missing skills."
        )
        a.result.uncovered_skills.extend(a.missing)  # no candidate course at all
    report.metrics = {"recommended": len(a.chosen)}
    report.summary = f"{len(a.chosen)} courses recommended"


async def score_courses(c: StageClients, a: Analysis, report: StageReport) -> None:
    scores: dict[str, recommendation_service_pb2.CourseScore] = {}
    if a.chosen:
        scored = await c.call(
            Stage.SCORING,
            c.recommendation.ScoreCourses,
            recommendation_service_pb2.ScoreCoursesRequest(
                resume_skills=a.user_skill_names,
                job_skills=a.job_skill_names,
                missing_skills=a.missing,
                current_score=a.current_score,
                courses=[r.course for r in a.chosen],
            ),
        )
        scores = {s.course_id: s for s in scored.scores}
    for rec in a.chosen:
        score = scores.get(rec.course.id)
        a.result.recommended_courses.add(
            course=rec.course,
            covered_skills=rec.covered_skills,
            rationale=rec.rationale,
            potential_score=score.potential_score if score else a.current_score,
            score_improvement=score.score_improvement if score else 0.0,
        )
    best = max((r.potential_score for r in a.result.recommended_courses), default=a.current_score)
    report.metrics = {"current_score": a.current_score, "best_potential_score": best}
    report.summary = f"score {a.current_score:.2f} now, up to {best:.2f} after one course"


Step = Callable[[StageClients, Analysis, StageReport], Awaitable[None]]
STEPS: tuple[tuple[Stage, Step], ...] = (
    (Stage.ENTITY_RECOGNITION, recognize_entities),
    (Stage.SKILL_EXTRACTION, extract_skills),
    (Stage.SIMILARITY_ANALYSIS, compare_skills),
    (Stage.COURSE_RETRIEVAL, retrieve_courses),
    (Stage.RECOMMENDATION, recommend_courses),
    (Stage.SCORING, score_courses),
)


class CourseRecommendationHandler:
    """Runs the six stages in order through the stage services."""

    def __init__(self, clients: StageClients) -> None:
        self._clients = clients

    async def run(self, job: JobRecord, ctx: JobContext) -> bytes:
        given = job.input
        if not isinstance(given, CourseInput):
            raise TypeError(f"job {job.id} has no course-recommendation input")
        analysis = Analysis(given.resume_text, given.job_description_text, given.threshold)
        clients = self._clients.for_job(ctx)  # its calls tell the job when they wait for a service
        for stage, step in STEPS:
            async with ctx.stage(stage) as report:
                await step(clients, analysis, report)
        return bytes(analysis.result.SerializeToString())
