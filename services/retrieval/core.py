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

log = logging.getLogger(__name__)

DEFAULT_TOP_K = 5
MAX_TOP_K = 50
MAX_QUERIES = 256
MAX_QUERY_CHARS = 2_000

EmbedFn = Callable[[Sequence[str]], Awaitable[NDArray[np.float32]]]


@dataclass(frozen=True)
class CourseFilter:
    """Restrictions on the courses a search may return; an empty field does not restrict.

    Levels and providers compare case-insensitively. `max_duration_hours` 0 means no limit; a course of
    unknown duration (0 hours) passes any limit.
    """

    levels: tuple[str, ...] = ()
    max_duration_hours: int = 0
    providers: tuple[str, ...] = ()

    def allows(self, course: Course) -> bool:
        if self.levels and course.level not in self.levels:
            return False
        if self.max_duration_hours and course.duration_hours > self.max_duration_hours:
            return False
        return not self.providers or course.provider.casefold() in self.providers


@dataclass(frozen=True)
class SearchRequest:
    """A validated search: non-empty queries, 1 <= top_k <= 50, a normalised filter."""

    queries: tuple[str, ...]
    top_k: int
    course_filter: CourseFilter


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
    if violations:
        raise InvalidArgument(f"{len(violations)} bad field(s) in the search request", violations)
    return SearchRequest(
        queries=tuple(queries),
        top_k=top_k or DEFAULT_TOP_K,
        course_filter=CourseFilter(
            levels=tuple(dict.fromkeys(normalised_levels)),
            max_duration_hours=max_duration_hours,
            providers=tuple(dict.fromkeys(normalised_providers)),
        ),
    )


def clip_score(score: float) -> float:
    """A cosine as a plain float in [-1, 1] (float32 rounding can overshoot by an ulp)."""
    if math.isnan(score):
        return -1.0
    return min(1.0, max(-1.0, float(score)))


async def search(request: SearchRequest, *, embed: EmbedFn, index: Index) -> list[QueryResult]:
    """Embeds all queries in one call, then asks the index (in a worker thread: it may do network I/O)."""
    vectors = await embed(list(request.queries))
    found = await asyncio.to_thread(index.search, vectors, request.top_k, request.course_filter)
    return [QueryResult(query, courses) for query, courses in zip(request.queries, found, strict=True)]
