"""The recommendation stage's data: a validated request, the plan and its courses, and a course's score. The rules
that make them are in services/recommendation/core.py."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.common.catalog import Course
from services.recommendation.known_skills import SkillKeys


@dataclass(frozen=True)
class RecommendRequest:
    """A validated recommendation request: skill lists deduplicated, candidates deduplicated by id, the gap
    reduced to what the resume does not show, and courses for skills the resume shows left out."""

    missing_skills: tuple[str, ...]
    resume_skills: tuple[str, ...]
    job_skills: tuple[str, ...]
    candidates: tuple[Course, ...]
    max_courses: int
    # The field whose courses are preferred ("" when unknown).
    job_field: str = ""
    # Gap skills that no candidate teaches.
    uncovered_skills: tuple[str, ...] = ()
    # How skill names are compared (with the vocabulary when there is one).
    keys: SkillKeys = field(default_factory=lambda: SkillKeys(None), compare=False, repr=False)


@dataclass(frozen=True)
class RecommendedCourse:
    """One course of the plan with the gap skills it teaches and why it was picked."""

    course: Course
    covered_skills: tuple[str, ...]
    rationale: str
    gap_coverage: float


@dataclass(frozen=True)
class Recommendation:
    """The plan: courses best first, a summary, and which ranker produced it."""

    courses: tuple[RecommendedCourse, ...]
    summary: str
    backend: str = "local"
    fallback_reason: str = ""
    # Gap skills that no candidate course teaches.
    uncovered_skills: tuple[str, ...] = ()


@dataclass(frozen=True)
class CourseScore:
    """The match score a resume would reach after one course."""

    course_id: str
    potential_score: float
    score_improvement: float
