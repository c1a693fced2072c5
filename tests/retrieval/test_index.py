"""Search validation, the exact index (filter first, then rank) and the course-vector cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from services.common.catalog import Course, load_catalog
from services.common.embedding import l2_normalise
from services.common.errors import InvalidArgument
from services.retrieval import backends
from services.retrieval.core import CourseFilter, course_text, validate_search


def course(cid: str, level: str = "beginner", hours: int = 5, provider: str = "Acme") -> Course:
    return Course(cid, f"Course {cid}", provider, "", (), level, hours, "")


def test_top_k_zero_means_five_and_filter_values_are_normalised() -> None:
    request = validate_search(["Kubernetes"], 0, levels=[" Beginner", "beginner"], providers=["Udemy "])
    assert request.top_k == 5
    assert request.course_filter == CourseFilter(levels=("beginner",), providers=("udemy",))


@pytest.mark.parametrize(
    ("queries", "top_k", "kwargs", "fields"),
    [
        ([], 5, {}, ["queries"]),
        (["ok", " "], 5, {}, ["queries[1]"]),
        (["ok"], 51, {}, ["top_k"]),
        (["ok"], -1, {}, ["top_k"]),
        (["ok"], 5, {"levels": ["expert"]}, ["filter.levels[0]"]),
        (["ok"], 5, {"max_duration_hours": -3}, ["filter.max_duration_hours"]),
        (["ok"], 5, {"providers": [""]}, ["filter.providers[0]"]),
        (["", "x" * 2001], 60, {}, ["queries[0]", "queries[1]", "top_k"]),
    ],
)
def test_bad_search_requests_name_every_bad_field(
    queries: list[str], top_k: int, kwargs: dict[str, Any], fields: list[str]
) -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_search(queries, top_k, **kwargs)
    assert [v.field for v in info.value.violations] == fields


def exact_index(courses: list[Course], vectors: list[list[float]]) -> backends.ExactIndex:
    index = backends.ExactIndex()
    index.build(courses, l2_normalise(np.array(vectors)))
    return index


def test_ranks_by_cosine_best_first_with_scores_as_floats() -> None:
    index = exact_index([course("a"), course("b"), course("c")], [[1, 0], [0.6, 0.8], [0, 1]])
    [found] = index.search(l2_normalise(np.array([[1.0, 0.1]])), 2, CourseFilter())
    assert [s.course.id for s in found] == ["a", "b"]
    assert type(found[0].score) is float and found[0].score > found[1].score


def test_filtering_happens_before_ranking_so_top_k_is_filled() -> None:
    # The three best courses overall are advanced; a beginner filter must still return 3 beginner courses.
    courses = [course(f"adv{i}", level="advanced") for i in range(3)] + [course(f"beg{i}") for i in range(4)]
    vectors = [[1, 0.01 * i] for i in range(3)] + [[0.1 * i, 1] for i in range(4)]
    index = exact_index(courses, vectors)
    [found] = index.search(l2_normalise(np.array([[1.0, 0.0]])), 3, CourseFilter(levels=("beginner",)))
    assert [s.course.id for s in found] == ["beg3", "beg2", "beg1"]


def test_all_filters_combine_and_fewer_matches_than_top_k_return_what_exists() -> None:
    courses = [
        course("ok", "intermediate", 10, "Udemy"),
        course("long", "intermediate", 11, "Udemy"),
        course("other", "intermediate", 5, "Coursera"),
        course("level", "advanced", 5, "Udemy"),
        course("unknown-hours", "intermediate", 0, "UDEMY"),
    ]
    index = exact_index(courses, [[1, i] for i in range(5)])
    wanted = CourseFilter(levels=("intermediate",), max_duration_hours=10, providers=("udemy",))
    [found] = index.search(l2_normalise(np.array([[1.0, 1.0]])), 10, wanted)
    assert {s.course.id for s in found} == {"ok", "unknown-hours"}
    assert index.search(l2_normalise(np.array([[1.0, 1.0]])), 3, CourseFilter(providers=("nobody",))) == [[]]


def test_equal_scores_keep_catalog_order() -> None:
    index = exact_index([course(c) for c in "abcd"], [[1, 0]] * 4)
    [found] = index.search(np.array([[1.0, 0.0]], dtype=np.float32), 3, CourseFilter())
    assert [s.course.id for s in found] == ["a", "b", "c"]


def test_imported_catalog_wins_over_the_bundled_one(settings: Any, catalog_file: Path) -> None:
    assert backends.catalog_path(settings) == catalog_file
    settings.imported_catalog_path.parent.mkdir()
    settings.imported_catalog_path.write_text(json.dumps({"id": "x", "title": "Imported"}) + "\n")
    courses, path = backends.load_courses(settings)
    assert path == settings.imported_catalog_path and [c.id for c in courses] == ["x"]


def test_course_vectors_are_cached_next_to_the_catalog_by_content(catalog_file: Path, counting: Any) -> None:
    courses = load_catalog(catalog_file)
    first = backends.course_vectors(courses, counting, catalog_file)
    assert counting.calls == [[course_text(c) for c in courses]]
    again = backends.course_vectors(courses, counting, catalog_file)  # a restart with the same catalog
    assert len(counting.calls) == 1
    np.testing.assert_array_equal(first, again)
    changed = [*courses[:-1], Course(**{**courses[-1].to_dict(), "skills": ("Go", "gRPC")})]
    backends.course_vectors(changed, counting, catalog_file)
    assert len(counting.calls) == 2
    caches = list(catalog_file.parent.glob(".courses.jsonl.vectors-*.npy"))
    assert len(caches) == 1  # the old content's vectors were removed


def test_a_corrupt_vector_cache_is_ignored_and_rewritten(catalog_file: Path, counting: Any) -> None:
    courses = load_catalog(catalog_file)
    backends.course_vectors(courses, counting, catalog_file)
    [cache] = catalog_file.parent.glob(".courses.jsonl.vectors-*.npy")
    cache.write_bytes(b"not an npy file")
    vectors = backends.course_vectors(courses, counting, catalog_file)
    assert len(counting.calls) == 2 and vectors.shape == (len(courses), counting.dimensions)
    assert np.load(cache).shape == vectors.shape
