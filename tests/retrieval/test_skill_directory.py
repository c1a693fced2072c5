"""Courses that list the query as a skill come first; the field filter and the preferred field."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from services.common.catalog import Course
from services.common.embedding import Vectors, l2_normalise
from services.common.errors import InvalidArgument
from services.common.taxonomy import Skill, Taxonomy
from services.retrieval import backends
from services.retrieval.core import CourseFilter, ScoredCourse, rank_results, search, validate_search
from services.retrieval.skill_directory import SkillDirectory, plain_key, vocabulary_key

# Two dimensions: the query "Telemetry Monitoring" points along x.
COURSES = [
    Course("close", "Signals and Telemetry", "A", "", ("Signal Processing",), "beginner", 5, "", "software"),
    Course("nurse", "Cardiac Monitoring", "A", "", ("Telemetry Monitoring",), "beginner", 5, "", "healthcare"),
    Course("alias", "Bedside Care", "B", "", ("Telemetry", "Patient Care"), "beginner", 5, "", "education"),
    Course("far", "Pastry", "B", "", ("Baking",), "beginner", 5, "", "hospitality"),
]
VECTORS = l2_normalise(np.array([[1.0, 0.1], [0.2, 1.0], [0.5, 1.0], [-1.0, 0.0]]))
QUERY = l2_normalise(np.array([[1.0, 0.0]]))
VOCABULARY = Taxonomy([Skill("Telemetry Monitoring", "Nursing", ("Telemetry",), id="skillbridge:telemetry")])


async def fixed_embed(texts: Sequence[str]) -> Vectors:
    return np.repeat(QUERY, len(texts), axis=0)


def exact_index() -> backends.ExactIndex:
    index = backends.ExactIndex()
    index.build(COURSES, VECTORS)
    return index


def ids(found: Sequence[ScoredCourse]) -> list[str]:
    return [s.course.id for s in found]


def test_listing_finds_courses_by_any_name_of_the_skill_with_their_cosines() -> None:
    with_vocabulary = SkillDirectory(COURSES, VECTORS, key=vocabulary_key(VOCABULARY))
    found = with_vocabulary.listing("telemetry monitoring", QUERY[0], CourseFilter())
    assert ids(found) == ["nurse", "alias"]
    assert found[0].score == pytest.approx(float(VECTORS[1] @ QUERY[0]))
    plain = SkillDirectory(COURSES, VECTORS, key=plain_key)
    assert ids(plain.listing("Telemetry Monitoring", QUERY[0], CourseFilter())) == ["nurse"]
    assert ids(plain.listing("Telemetry Monitoring", QUERY[0], CourseFilter(levels=("advanced",)))) == []


async def test_search_puts_listed_courses_before_closer_ones_and_keeps_top_k() -> None:
    directory = SkillDirectory(COURSES, VECTORS, key=vocabulary_key(VOCABULARY))
    request = validate_search(["Telemetry Monitoring"], 3)
    [without] = await search(request, embed=fixed_embed, index=exact_index())
    [with_listing] = await search(request, embed=fixed_embed, index=exact_index(), directory=directory)
    assert ids(without.courses) == ["close", "alias", "nurse"]
    assert ids(with_listing.courses) == ["alias", "nurse", "close"]  # listed first, by cosine; then the index's best
    [top_one] = await search(
        validate_search(["Telemetry"], 1), embed=fixed_embed, index=exact_index(), directory=directory
    )
    assert ids(top_one.courses) == ["alias"]


async def test_the_preferred_field_ranks_first_among_listed_courses() -> None:
    directory = SkillDirectory(COURSES, VECTORS, key=vocabulary_key(VOCABULARY))
    request = validate_search(["Telemetry Monitoring"], 3, preferred_field="Healthcare")
    assert request.preferred_field == "healthcare"
    [found] = await search(request, embed=fixed_embed, index=exact_index(), directory=directory)
    assert ids(found.courses) == ["nurse", "alias", "close"]


def test_the_field_boost_lifts_a_course_that_is_about_as_close() -> None:
    def scored(cid: str, field: str, score: float) -> ScoredCourse:
        return ScoredCourse(Course(cid, cid, "", "", (), "", 0, "", field), score)

    found = [scored("off", "software", 0.62), scored("on", "healthcare", 0.60), scored("far", "healthcare", 0.30)]
    assert ids(rank_results([], found, "healthcare")) == ["on", "off", "far"]
    assert ids(rank_results([], found, "")) == ["off", "on", "far"]


def test_the_field_filter_restricts_the_exact_index_and_is_normalised() -> None:
    request = validate_search(["x"], 5, fields=[" Healthcare", "education", "healthcare"])
    assert request.course_filter == CourseFilter(fields=("healthcare", "education"))
    [found] = exact_index().search(QUERY, 5, request.course_filter)
    assert ids(found) == ["alias", "nurse"]
    with pytest.raises(InvalidArgument) as info:
        validate_search(["x"], 5, fields=["ok", " "], preferred_field="y" * 101)
    assert [v.field for v in info.value.violations] == ["filter.fields[1]", "preferred_field"]
