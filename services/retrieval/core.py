"""Course search: request validation, the filter rules and the search itself over any `Index`."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from services.common.catalog import LEVELS, Course
from services.common.errors import FieldViolation, InvalidArgument

if TYPE_CHECKING:
    from services.retrieval.backends import Index
    from services.retrieval.skill_directory import SkillDirectory

log = logging.getLogger(__name__)

DEFAULT_TOP_K = 5
MAX_TOP_K = 50
MAX_QUERIES = 256
MAX_QUERY_CHARS = 2_000
MAX_FIELD_CHARS = 100

# Added to the cosine of a course of the preferred field when ranking, among courses found by meaning only:
# enough to lift an on-field course over an off-field one about as close, too little to lift an unrelated one.
FIELD_BOOST = 0.05

EmbedFn = Callable[[Sequence[str]], Awaitable[NDArray[np.float32]]]


@dataclass(frozen=True)
class CourseFilter:
    """Restrictions on the courses a search may return; an empty field does not restrict.

    Levels, providers and fields compare case-insensitively. `max_duration_hours` 0 means no limit; a course
    of unknown duration (0 hours) passes any limit.
    """

    levels: tuple[str, ...] = ()
    max_duration_hours: int = 0
    providers: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()

    def allows(self, course: Course) -> bool:
        if self.levels and course.level not in self.levels:
            return False
        if self.max_duration_hours and course.duration_hours > self.max_duration_hours:
            return False
        if self.fields and course.field not in self.fields:
            return False
        return not self.providers or course.provider.casefold() in self.providers


@dataclass(frozen=True)
class SearchRequest:
    """A validated search: non-empty queries, 1 <= top_k <= 50, a normalised filter, the preferred field."""

    queries: tuple[str, ...]
    top_k: int
    course_filter: CourseFilter
    preferred_field: str = ""


@dataclass(frozen=True)
class ScoredCourse:
    """A course and its cosine similarity to the query."""

    course: Course
    score: float


@dataclass(frozen=True)
class QueryResult:
    """The courses found for one query, best first."""

    query: str
    courses: list[ScoredCourse]


def course_text(course: Course) -> str:
    """What gets embedded for a course: its title, the skills it teaches, then its description."""
    parts = [course.title]
    if course.skills:
        parts.append("Skills: " + ", ".join(course.skills) + ".")
    if course.description:
        parts.append(course.description)
    return " ".join(parts)


def validate_search(
    queries: Sequence[str],
    top_k: int,
    *,
    levels: Sequence[str] = (),
    max_duration_hours: int = 0,
    providers: Sequence[str] = (),
    fields: Sequence[str] = (),
    preferred_field: str = "",
) -> SearchRequest:
    """Checks a search request; every bad field is reported at once."""
    if not queries:
        raise InvalidArgument.for_field("queries", "must hold at least one query")
    violations: list[FieldViolation] = []
    if len(queries) > MAX_QUERIES:
        violations.append(FieldViolation("queries", f"at most {MAX_QUERIES} queries, got {len(queries)}"))
    for i, query in enumerate(queries):
        if not query.strip():
            violations.append(FieldViolation(f"queries[{i}]", "must not be empty"))
        elif len(query) > MAX_QUERY_CHARS:
            violations.append(
                FieldViolation(f"queries[{i}]", f"at most {MAX_QUERY_CHARS} characters, got {len(query)}")
            )
    if top_k < 0 or top_k > MAX_TOP_K:
        violations.append(FieldViolation("top_k", f"must be between 0 and {MAX_TOP_K}, got {top_k}"))
    normalised_levels: list[str] = []
    for i, level in enumerate(levels):
        value = level.strip().lower()
        if value not in LEVELS:
            violations.append(
                FieldViolation(f"filter.levels[{i}]", f"must be one of {', '.join(LEVELS)}, got {level!r}")
            )
        normalised_levels.append(value)
    if max_duration_hours < 0:
        violations.append(FieldViolation("filter.max_duration_hours", "must not be negative"))
    normalised_providers: list[str] = []
    for i, provider in enumerate(providers):
        if not provider.strip():
            violations.append(FieldViolation(f"filter.providers[{i}]", "must not be empty"))
        normalised_providers.append(provider.strip().casefold())
    normalised_fields: list[str] = []
    for i, name in enumerate(fields):
        if not name.strip():
            violations.append(FieldViolation(f"filter.fields[{i}]", "must not be empty"))
        normalised_fields.append(name.strip().lower())
    if len(preferred_field) > MAX_FIELD_CHARS:
        violations.append(FieldViolation("preferred_field", f"at most {MAX_FIELD_CHARS} characters"))
    if violations:
        raise InvalidArgument(f"{len(violations)} bad field(s) in the search request", violations)
    return SearchRequest(
        queries=tuple(queries),
        top_k=top_k or DEFAULT_TOP_K,
        course_filter=CourseFilter(
            levels=tuple(dict.fromkeys(normalised_levels)),
            max_duration_hours=max_duration_hours,
            providers=tuple(dict.fromkeys(normalised_providers)),
            fields=tuple(dict.fromkeys(normalised_fields)),
        ),
        preferred_field=preferred_field.strip().lower(),
    )


def clip_score(score: float) -> float:
    """A cosine as a plain float in [-1, 1] (float32 rounding can overshoot by an ulp)."""
    if math.isnan(score):
        return -1.0
    return min(1.0, max(-1.0, float(score)))


async def search(
    request: SearchRequest, *, embed: EmbedFn, index: Index, directory: SkillDirectory | None = None
) -> list[QueryResult]:
    """Embeds all queries in one call, asks the index (in a worker thread: it may do network I/O), then, with
    a skill directory, puts the courses that list the query as a skill first (see SkillDirectory)."""
    vectors = await embed(list(request.queries))
    # With a preferred field, look a little deeper so the boost has courses of that field to lift.
    depth = min(MAX_TOP_K, 2 * request.top_k) if request.preferred_field else request.top_k
    found = await asyncio.to_thread(index.search, vectors, depth, request.course_filter)
    results = []
    for row, (query, courses) in enumerate(zip(request.queries, found, strict=True)):
        listing = directory.listing(query, vectors[row], request.course_filter) if directory else []
        ranked = rank_results(listing, courses, request.preferred_field)
        results.append(QueryResult(query, ranked[: request.top_k]))
    return results


def rank_results(listing: Sequence[ScoredCourse], found: Sequence[ScoredCourse], field: str) -> list[ScoredCourse]:
    """Courses that list the query as a skill first (those of `field` before the others, then by cosine),
    then the index's courses by cosine, with FIELD_BOOST added for a course of `field`."""
    listed = sorted(listing, key=lambda s: (bool(field) and s.course.field != field, -s.score))
    ids = {s.course.id for s in listed}
    rest = [s for s in found if s.course.id not in ids]
    rest.sort(key=lambda s: -(s.score + (FIELD_BOOST if field and s.course.field == field else 0.0)))
    return [*listed, *rest]
