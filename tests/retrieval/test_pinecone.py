"""The Pinecone adapter against a local server that speaks the data-plane API: upsert, filtered query,
server errors, timeouts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from services.common.catalog import Course, load_catalog
from services.common.errors import Unavailable
from services.retrieval.core import CourseFilter
from services.retrieval.pinecone_index import PineconeIndex, catalog_key, metadata_filter

DATA = Path(__file__).parent / "data" / "courses.jsonl"


@pytest.fixture
def courses() -> list[Course]:
    return load_catalog(DATA)


@pytest.fixture
def vectors(courses: list[Course], counting: Any) -> np.ndarray:
    return counting.embed([c.id for c in courses])  # type: ignore[no-any-return]


def make_index(pinecone_server: Any, *, timeout: float = 5.0, api_key: str = "test-key") -> PineconeIndex:
    return PineconeIndex(api_key=api_key, host=pinecone_server.host, namespace="courses", timeout_seconds=timeout)


def test_upsert_sends_vectors_with_metadata_in_the_documented_shape(
    pinecone_server: Any, courses: list[Course], vectors: np.ndarray
) -> None:
    make_index(pinecone_server).build(courses, vectors)
    path, body = pinecone_server.requests[0]
    assert path == "/vectors/upsert" and body["namespace"] == "courses"
    first = body["vectors"][0]
    assert first["id"] == "k8s-101"
    assert first["values"] == pytest.approx(vectors[0].tolist())
    assert first["metadata"] == {
        "catalog": catalog_key(courses, vectors),
        "title": "Kubernetes Fundamentals",
        "level": "beginner",
        "provider": "cloudacademy",
        "duration_hours": 12,
        "skills": ["Kubernetes", "Docker", "Helm"],
        "field": "",
    }
    assert len(pinecone_server.namespaces["courses"]) == len(courses)


def test_query_returns_catalog_courses_best_first(
    pinecone_server: Any, courses: list[Course], vectors: np.ndarray
) -> None:
    index = make_index(pinecone_server)
    index.build(courses, vectors)
    [found] = index.search(vectors[3:4], 3, CourseFilter())
    assert found[0].course == courses[3] and found[0].score == pytest.approx(1.0, abs=1e-5)
    assert len(found) == 3 and found[0].score >= found[1].score >= found[2].score
    path, body = pinecone_server.requests[-1]
    assert path == "/query" and body["topK"] == 3 and body["namespace"] == "courses"
    assert body["filter"] == {"catalog": {"$eq": catalog_key(courses, vectors)}}


def test_query_sends_the_filter_and_only_allowed_courses_come_back(
    pinecone_server: Any, courses: list[Course], vectors: np.ndarray
) -> None:
    index = make_index(pinecone_server)
    index.build(courses, vectors)
    wanted = CourseFilter(
        levels=("beginner", "intermediate"), max_duration_hours=10, providers=("udemy",), fields=("", "software")
    )
    [found] = index.search(vectors[0:1], 10, wanted)
    assert pinecone_server.requests[-1][1]["filter"] == {
        "$and": [
            {"catalog": {"$eq": catalog_key(courses, vectors)}},
            {"level": {"$in": ["beginner", "intermediate"]}},
            {"duration_hours": {"$lte": 10}},
            {"provider": {"$in": ["udemy"]}},
            {"field": {"$in": ["", "software"]}},
        ]
    }
    assert {s.course.id for s in found} == {"docker-1"}  # Udemy's Go course is 14 h


def test_filter_expression_always_names_the_catalog() -> None:
    assert metadata_filter(CourseFilter(), "k1") == {"catalog": {"$eq": "k1"}}
    assert metadata_filter(CourseFilter(max_duration_hours=5), "k1") == {
        "$and": [{"catalog": {"$eq": "k1"}}, {"duration_hours": {"$lte": 5}}]
    }


def test_vectors_of_courses_gone_from_the_catalog_are_skipped(
    pinecone_server: Any, courses: list[Course], vectors: np.ndarray
) -> None:
    make_index(pinecone_server).build(courses, vectors)
    fresh = make_index(pinecone_server)
    fresh.build(courses[:2], vectors[:2])  # the namespace still holds all 14
    [found] = fresh.search(vectors[5:6], 10, CourseFilter())
    assert {s.course.id for s in found} == {courses[0].id, courses[1].id}
    assert len(pinecone_server.namespaces["courses"]) == len(courses)


def test_a_server_error_becomes_unavailable(pinecone_server: Any, courses: list[Course], vectors: np.ndarray) -> None:
    index = make_index(pinecone_server)
    index.build(courses, vectors)
    pinecone_server.mode = "fail"
    with pytest.raises(Unavailable, match="500"):
        index.search(vectors[:1], 3, CourseFilter())
    assert len(pinecone_server.requests) > 2  # the SDK retried the 500 before giving up


def test_a_reply_slower_than_the_timeout_becomes_unavailable(
    pinecone_server: Any, courses: list[Course], vectors: np.ndarray
) -> None:
    index = make_index(pinecone_server, timeout=0.3)
    index.build(courses, vectors)
    pinecone_server.mode = "slow"
    with pytest.raises(Unavailable, match="timed out"):
        index.search(vectors[:1], 3, CourseFilter())


def test_a_rejected_api_key_and_a_dead_host_become_unavailable(
    pinecone_server: Any, courses: list[Course], vectors: np.ndarray
) -> None:
    with pytest.raises(Unavailable, match=r"upsert.*401"):
        make_index(pinecone_server, api_key="wrong-key").build(courses, vectors)
    dead = PineconeIndex(api_key="test-key", host="http://127.0.0.1:9", namespace="courses", timeout_seconds=0.5)
    with pytest.raises(Unavailable):
        dead.build(courses, vectors)
