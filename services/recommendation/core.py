"""Recommendation and scoring logic: weighted greedy gap coverage, rationales, summaries and course scores.

Definitions (the public contract of this stage, also stated in the proto comments):

* **Gap weights.** Every missing skill weighs the same, 1 / (number of distinct missing skills). Skill
  lists coming out of extraction have no reliable order of importance, so weighting by position would
  reward noise.
* **Matching.** A course teaches a missing skill when one of its skills is the same skill: the same entry
  of the skill vocabulary (any alias, any case), or, for names the vocabulary does not know, the same name
  case-folded. No fuzzy matching happens here.
* **The resume comes first** (services/recommendation/known_skills.py). A "missing" skill that the resume
  shows after all (another of its names, or a broader skill whose vocabulary relation covers it) is not part
  of the gap, so `covered_skills` only ever lists real gaps. A candidate course *for* skills the resume
  already shows (its title names them: a "Lean Six Sigma Green Belt" course for a Green Belt holder) is never
  recommended, whatever else it teaches. Gap skills that no remaining candidate teaches are
  `uncovered_skills`, and the summary says so.
* **Courses of the job's field.** A course of another field than the job's (neither general nor unfielded)
  teaches only the gap skills of its own field: a hotel-sales course is no plan for an enterprise account
  executive's negotiation gap, nor a support-writing course for a paralegal's written communication.
* **Soft skills last.** A soft skill of the gap (the vocabulary's "Soft Skills": leadership, teamwork,
  conflict resolution) gets a course only when no other gap skill does. A resume shows these through
  experience rather than by name, so their absence is weak evidence of a gap, and a job seeker's plan should
  lead with the job's own skills; the summary names the soft skills it leaves out.
* **Greedy cover.** Repeatedly pick the candidate whose skills cover the most not-yet-covered gap weight;
  stop at `max_courses` or when no candidate covers anything new. A course that adds nothing new is never
  chosen, so no two chosen courses cover the same set of gap skills. Ties break first on the job's field
  (a course of that field before one of another: the caller's `job_field`, else the most common field of the
  job's skills), then on level fit (a beginner course when the resume has none of the course's skills,
  otherwise an intermediate one; the distance between the course's level and that preferred level, unknown
  levels last), then shorter duration (unknown duration last), then candidate order. With `ranked=True` (the
  candidates arrive in a reranker's relevance order) ties break on the field, then candidate order.
* **gap_coverage** of a recommended course is the weighted share of the whole gap it teaches, whether or
  not an earlier course in the plan teaches some of the same skills; `covered_skills` lists those skills.
* **Potential score** of a course: `current_score` plus, for every missing skill the course teaches, that
  skill's share of the job, capped at 1.0. A skill's share is its weight over the sum of the weights of the
  distinct job skills: 1 for a required skill, NICE_TO_HAVE_WEIGHT for one the caller lists in
  `nice_to_have_skills` (the weighting of CompareSkills' overall_score, so the two scores add up); with no
  such list every job skill weighs 1 and the share is 1 / number of distinct job skills.
  **Improvement** = potential - current.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from services.common.catalog import LEVELS, Course
from services.common.errors import InvalidArgument
from services.recommendation.known_skills import (
    GENERAL_FIELD,
    ResumeSkills,
    SkillKeys,
    Vocabulary,
    course_subjects,
    infer_field,
)
from services.recommendation.model import CourseScore, Recommendation, RecommendedCourse, RecommendRequest

log = logging.getLogger(__name__)

DEFAULT_MAX_COURSES = 5
MAX_COURSES_LIMIT = 20
MAX_CANDIDATES = 500
MAX_SKILLS = 1000
MAX_SKILL_CHARS = 200
# A nice-to-have job skill's weight next to a required one (1), as in the similarity service's overall_score.
NICE_TO_HAVE_WEIGHT = 0.5
# The preferred level index for a course whose skills are all new to the resume, and for one that builds on
# skills the resume already has.
_NEW_TOPIC_LEVEL = LEVELS.index("beginner")
_KNOWN_TOPIC_LEVEL = LEVELS.index("intermediate")


def _key(skill: str) -> str:
    return skill.strip().casefold()


def _clean_skills(field_name: str, skills: Sequence[str]) -> tuple[str, ...]:
    """Strips and deduplicates (case-insensitively, first spelling wins); rejects blank or huge entries."""
    if len(skills) > MAX_SKILLS:
        raise InvalidArgument.for_field(field_name, f"at most {MAX_SKILLS} skills, got {len(skills)}")
    seen: set[str] = set()
    out: list[str] = []
    for index, raw in enumerate(skills):
        skill = raw.strip()
        if not skill:
            raise InvalidArgument.for_field(f"{field_name}[{index}]", "a skill must not be empty")
        if len(skill) > MAX_SKILL_CHARS:
            raise InvalidArgument.for_field(
                f"{field_name}[{index}]", f"a skill has at most {MAX_SKILL_CHARS} characters"
            )
        if _key(skill) not in seen:
            seen.add(_key(skill))
            out.append(skill)
    return tuple(out)


def _clean_courses(field_name: str, courses: Sequence[Course]) -> tuple[Course, ...]:
    if len(courses) > MAX_CANDIDATES:
        raise InvalidArgument.for_field(field_name, f"at most {MAX_CANDIDATES} courses, got {len(courses)}")
    for index, course in enumerate(courses):
        if not course.id.strip():
            raise InvalidArgument.for_field(f"{field_name}[{index}].id", "a course needs an id")
        if course.level and course.level not in LEVELS:
            raise InvalidArgument.for_field(
                f"{field_name}[{index}].level", f"must be empty or one of {', '.join(LEVELS)}"
            )
        if course.duration_hours < 0:
            raise InvalidArgument.for_field(f"{field_name}[{index}].duration_hours", "must not be negative")
    return tuple(courses)


def validate_request(
    missing_skills: Sequence[str],
    resume_skills: Sequence[str],
    job_skills: Sequence[str],
    candidates: Sequence[Course],
    max_courses: int,
    *,
    vocabulary: Vocabulary | None = None,
    job_field: str = "",
) -> RecommendRequest:
    """Checks a request and normalises it (see "The resume comes first" above); raises InvalidArgument
    naming the bad field."""
    if max_courses < 0 or max_courses > MAX_COURSES_LIMIT:
        raise InvalidArgument.for_field("max_courses", f"must be between 0 (default) and {MAX_COURSES_LIMIT}")
    if len(job_field) > MAX_SKILL_CHARS:
        raise InvalidArgument.for_field("job_field", f"at most {MAX_SKILL_CHARS} characters")
    checked = _clean_courses("candidates", candidates)
    missing = _clean_skills("missing_skills", missing_skills)
    resume = _clean_skills("resume_skills", resume_skills)
    jobs = _clean_skills("job_skills", job_skills)
    keys = SkillKeys(vocabulary)
    shown = ResumeSkills(resume, keys)
    gap_by_key: dict[str, str] = {}
    for skill in missing:
        if not shown.shows(skill):
            gap_by_key.setdefault(keys.key(skill), skill)
    gap = tuple(gap_by_key.values())
    # Retrieval answers several queries at once, so the same course may arrive twice: keep its first place.
    seen: set[str] = set()
    unique: list[Course] = []
    for course in checked:
        if course.id not in seen and not shown.shows_all(course_subjects(course, keys)):
            seen.add(course.id)
            unique.append(course)
    field_of_job = job_field.strip().lower() or infer_field(jobs, keys)
    taught = {keys.key(s) for course in unique for s in taught_gap_skills(course, gap, keys, field_of_job)}
    return RecommendRequest(
        missing_skills=gap,
        resume_skills=resume,
        job_skills=jobs,
        candidates=tuple(unique),
        max_courses=max_courses or DEFAULT_MAX_COURSES,
        job_field=field_of_job,
        uncovered_skills=tuple(s for s in gap if keys.key(s) not in taught),
        keys=keys,
    )


def gap_weights(missing_skills: Sequence[str], keys: SkillKeys | None = None) -> dict[str, float]:
    """Equal weight per distinct missing skill, keyed by skill identity; the weights sum to 1."""
    key = keys.key if keys is not None else _key
    distinct = list(dict.fromkeys(key(s) for s in missing_skills))
    return {k: 1.0 / len(distinct) for k in distinct} if distinct else {}


def taught_gap_skills(
    course: Course, missing_skills: Sequence[str], keys: SkillKeys | None = None, job_field: str = ""
) -> tuple[str, ...]:
    """The missing skills (in the caller's spelling and order) that the course teaches for this job: a course of
    another field than the job's teaches only the skills of its own field (see the module docstring)."""
    key = keys.key if keys is not None else _key
    taught = {key(s) for s in course.skills}
    found = tuple(s for s in missing_skills if key(s) in taught)
    if keys is None or not job_field or course.field in ("", GENERAL_FIELD, job_field):
        return found
    return tuple(s for s in found if (skill := keys.skill(s)) is not None and skill.field == course.field)


def _level_distance(course: Course, resume_keys: set[str], keys: SkillKeys) -> int:
    if course.level not in LEVELS:
        return len(LEVELS)
    knows_some = any(keys.key(s) in resume_keys for s in course.skills)
    preferred = _KNOWN_TOPIC_LEVEL if knows_some else _NEW_TOPIC_LEVEL
    return abs(LEVELS.index(course.level) - preferred)


def select_courses(request: RecommendRequest, *, ranked: bool = False) -> list[tuple[Course, tuple[str, ...]]]:
    """Weighted greedy set cover over the candidates; returns (course, gap skills it teaches) best first. Soft
    skills get a course only when no other gap skill does (see the module docstring)."""
    field_gap = tuple(s for s in request.missing_skills if not request.keys.is_soft(s))
    if len(field_gap) < len(request.missing_skills):
        chosen = _greedy_cover(request, field_gap, ranked=ranked)
        if chosen:
            return chosen
    return _greedy_cover(request, request.missing_skills, ranked=ranked)


def soft_skills_left(request: RecommendRequest, chosen: Sequence[RecommendedCourse]) -> list[str]:
    """The soft skills of the gap that a candidate teaches but the plan leaves to experience (it has courses for
    other skills). Those no candidate teaches are named with the other untaught skills instead."""
    if not chosen or any(request.keys.is_soft(s) for rec in chosen for s in rec.covered_skills):
        return []
    untaught = {request.keys.key(s) for s in request.uncovered_skills}
    return [s for s in request.missing_skills if request.keys.is_soft(s) and request.keys.key(s) not in untaught]


def _greedy_cover(
    request: RecommendRequest, gap: Sequence[str], *, ranked: bool
) -> list[tuple[Course, tuple[str, ...]]]:
    keys = request.keys
    weights = gap_weights(gap, keys)
    resume_keys = {keys.key(s) for s in request.resume_skills}
    options: list[tuple[int, Course, tuple[str, ...], tuple[int, int, int]]] = []
    for position, course in enumerate(request.candidates):
        taught = taught_gap_skills(course, gap, keys, request.job_field)
        if not taught:
            continue
        other_field = int(bool(request.job_field) and course.field != request.job_field)
        # Unknown duration (0) sorts after every real one.
        duration = course.duration_hours if course.duration_hours > 0 else math.inf
        level = 0 if ranked else _level_distance(course, resume_keys, keys)
        fit = (other_field, level, 0 if ranked else int(min(duration, 2**31)))
        options.append((position, course, taught, fit))
    uncovered = set(weights)
    chosen: list[tuple[Course, tuple[str, ...]]] = []
    while uncovered and len(chosen) < request.max_courses:
        best: tuple[float, tuple[int, int, int], int] | None = None
        best_option: tuple[Course, tuple[str, ...]] | None = None
        for position, course, taught, fit in options:
            gain = sum(weights[keys.key(s)] for s in taught if keys.key(s) in uncovered)
            if gain <= 0:
                continue
            rank = (-gain, fit, position)
            if best is None or rank < best:
                best, best_option = rank, (course, taught)
        if best_option is None:
            break
        chosen.append(best_option)
        uncovered -= {keys.key(s) for s in best_option[1]}
    return chosen


def join_names(names: Sequence[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def rationale_for(course: Course, covered: Sequence[str], total_missing: int) -> str:
    """One sentence naming the gap skills the course covers, its level and its effort."""
    if total_missing == 1:
        share = "the one skill this job needs that your resume lacks"
    else:
        share = f"{len(covered)} of the {total_missing} skills this job needs that your resume lacks"
    details = []
    if course.level:
        details.append(f"at {course.level} level")
    if course.duration_hours > 0:
        unit = "hour" if course.duration_hours == 1 else "hours"
        details.append(f"in {course.duration_hours} {unit}")
    tail = f", {' '.join(details)}" if details else ""
    return f"Covers {join_names(covered)}, {share}{tail}."


def summarize(request: RecommendRequest, chosen: Sequence[RecommendedCourse]) -> str:
    """A short text: which share of the gap the plan closes and which gap skills no course teaches."""
    missing = request.missing_skills
    if not missing:
        return "Your resume already has every skill this job asks for; no course is needed."
    key = request.keys.key
    covered_keys = {key(s) for rec in chosen for s in rec.covered_skills}
    covered = [s for s in missing if key(s) in covered_keys]
    untaught = list(request.uncovered_skills)
    soft = soft_skills_left(request, chosen)
    skipped_keys = {key(s) for s in (*untaught, *soft)}
    left_out = [s for s in missing if key(s) not in covered_keys and key(s) not in skipped_keys]
    if not chosen:
        return (
            f"No course found for the {len(missing)} skills this job needs that your resume lacks "
            f"({join_names(list(missing))})."
            if len(missing) > 1
            else f"No course found for {missing[0]}, the one skill this job needs that your resume lacks."
        )
    share = round(100 * len(covered) / len(missing))
    noun = "course" if len(chosen) == 1 else "courses"
    text = (
        f"This plan of {len(chosen)} {noun} covers {len(covered)} of the {len(missing)} skills this job "
        f"needs that your resume lacks ({share}% of the gap): {join_names(covered)}."
    )
    if left_out:
        text += f" Courses for {join_names(left_out)} did not fit within {request.max_courses} courses."
    if untaught:
        text += f" No course found for {join_names(untaught)}."
    if soft:
        verb = "is a soft skill" if len(soft) == 1 else "are soft skills"
        text += (
            f" {join_names(soft)} {verb}, shown through experience: no course is suggested for"
            f" {'it' if len(soft) == 1 else 'them'} while the plan has courses for the job's other skills."
        )
    return text


def build_plan(request: RecommendRequest, *, ranked: bool = False) -> tuple[RecommendedCourse, ...]:
    """The greedy selection with gap coverage and a rationale for each course."""
    weights = gap_weights(request.missing_skills, request.keys)
    plan = []
    for course, taught in select_courses(request, ranked=ranked):
        coverage = min(1.0, sum(weights[request.keys.key(s)] for s in taught))
        rationale = rationale_for(course, taught, len(request.missing_skills))
        plan.append(RecommendedCourse(course, taught, rationale, coverage))
    return tuple(plan)


def recommend(
    missing_skills: Sequence[str],
    resume_skills: Sequence[str],
    job_skills: Sequence[str],
    candidates: Sequence[Course],
    max_courses: int,
    *,
    vocabulary: Vocabulary | None = None,
    job_field: str = "",
) -> Recommendation:
    """Validates the request and returns the local (deterministic) plan with its summary."""
    request = validate_request(
        missing_skills, resume_skills, job_skills, candidates, max_courses, vocabulary=vocabulary, job_field=job_field
    )
    return recommend_validated(request)


def recommend_validated(request: RecommendRequest, *, fallback_reason: str = "") -> Recommendation:
    """The local plan for an already validated request (used directly by the remote back-end's fallback)."""
    plan = build_plan(request)
    return Recommendation(
        plan,
        summarize(request, plan),
        backend="local",
        fallback_reason=fallback_reason,
        uncovered_skills=request.uncovered_skills,
    )


def score_courses(
    resume_skills: Sequence[str],
    job_skills: Sequence[str],
    missing_skills: Sequence[str],
    current_score: float,
    courses: Sequence[Course],
    *,
    vocabulary: Vocabulary | None = None,
    nice_to_have_skills: Sequence[str] = (),
) -> list[CourseScore]:
    """Potential score and improvement of each course, in input order (defined in the module docstring)."""
    keys = SkillKeys(vocabulary)
    _clean_skills("resume_skills", resume_skills)
    jobs = _clean_skills("job_skills", job_skills)
    missing = _clean_skills("missing_skills", missing_skills)
    optional = _clean_skills("nice_to_have_skills", nice_to_have_skills)
    checked = _clean_courses("courses", courses)
    if not math.isfinite(current_score) or not 0.0 <= current_score <= 1.0:
        raise InvalidArgument.for_field("current_score", "must be a number in [0, 1]")
    job_keys = {keys.key(s) for s in jobs}
    for index, skill in enumerate(missing):
        if keys.key(skill) not in job_keys:
            raise InvalidArgument.for_field(
                f"missing_skills[{index}]",
                f"{skill!r} is not one of job_skills; missing skills are job skills",
            )
    for index, skill in enumerate(optional):
        if keys.key(skill) not in job_keys:
            raise InvalidArgument.for_field(f"nice_to_have_skills[{index}]", f"{skill!r} is not one of job_skills")
    optional_keys = {keys.key(s) for s in optional}
    weights = {key: NICE_TO_HAVE_WEIGHT if key in optional_keys else 1.0 for key in job_keys}
    total = sum(weights.values())
    scores = []
    for course in checked:
        gained = sum(weights[key] for key in {keys.key(s) for s in taught_gap_skills(course, missing, keys)})
        potential = min(1.0, current_score + gained / total) if total else current_score
        # Round away float noise (0.1 + 0.2) so a client sees the same number the definition gives.
        potential = round(potential, 9)
        scores.append(CourseScore(course.id, potential, round(potential - current_score, 9)))
    return scores
