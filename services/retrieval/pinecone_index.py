"""Pinecone as the course index (used when SKILLBRIDGE_PINECONE_API_KEY is set).

Courses are upserted with their filterable fields as metadata; a search sends one query per vector with a
metadata filter built from the CourseFilter, so Pinecone filters before ranking just like the exact index.
Each build tags its vectors with a key of the catalog's content and every query filters on that key, so
vectors of courses since removed from the catalog (still in the namespace) are never returned, and results
are mapped back to the local catalog by id.
Any SDK error, HTTP error or timeout becomes Unavailable (retryable by the caller).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from pinecone.errors import PineconeError

from services.common.catalog import Course
from services.common.errors import Unavailable
from services.retrieval.backends import Vectors
from services.retrieval.core import CourseFilter, ScoredCourse, clip_score

log = logging.getLogger(__name__)

UPSERT_BATCH = 100


def catalog_key(courses: Sequence[Course], vectors: Vectors) -> str:
    """A short hash of the indexed content: course ids, their fields (filterable metadata) and their vectors."""
    digest = hashlib.sha256()
    for course in courses:
        digest.update(course.id.encode() + b"\x00" + course.field.encode() + b"\x00")
    digest.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]


def course_metadata(course: Course, key: str) -> dict[str, Any]:
    """What Pinecone stores beside a vector: the catalog key, the fields filters use (provider
    case-folded), and the title."""
    return {
        "catalog": key,
        "title": course.title,
        "level": course.level,
        "provider": course.provider.casefold(),
        "duration_hours": course.duration_hours,
        "skills": list(course.skills),
        "field": course.field,
    }


def metadata_filter(course_filter: CourseFilter, key: str) -> dict[str, Any]:
    """The Pinecone filter expression for a CourseFilter over the catalog with this key."""
    clauses: list[dict[str, Any]] = [{"catalog": {"$eq": key}}]
    if course_filter.levels:
        clauses.append({"level": {"$in": list(course_filter.levels)}})
    if course_filter.max_duration_hours:
        clauses.append({"duration_hours": {"$lte": course_filter.max_duration_hours}})
    if course_filter.providers:
        clauses.append({"provider": {"$in": list(course_filter.providers)}})
    if course_filter.fields:
        clauses.append({"field": {"$in": list(course_filter.fields)}})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class PineconeIndex:
    """A Pinecone data-plane index reached directly by host (no control-plane call)."""

    backend = "pinecone"

    def __init__(
        self,
        *,
        api_key: str,
        host: str,
        namespace: str,
        timeout_seconds: float = 10.0,
        max_retries: int = 2,
    ) -> None:
        # Imported here: the SDK is only needed when Pinecone is configured.
        from pinecone import Pinecone, RetryConfig

        if not host:
            raise ValueError("SKILLBRIDGE_PINECONE_HOST must name the index host when an API key is set")
        client = Pinecone(api_key=api_key, timeout=timeout_seconds, retry_config=RetryConfig(max_retries=max_retries))
        self._index = client.Index(host=host)
        self._host = host
        self._namespace = namespace
        self._timeout = timeout_seconds
        self._courses: dict[str, Course] = {}
        self._key = ""

    @property
    def host(self) -> str:
        return self._host

    def build(self, courses: Sequence[Course], vectors: Vectors) -> None:
        if vectors.shape[0] != len(courses):
            raise ValueError(f"{len(courses)} courses but {vectors.shape[0]} vectors")
        key = catalog_key(courses, vectors)
        records = [
            {"id": c.id, "values": row.tolist(), "metadata": course_metadata(c, key)}
            for c, row in zip(courses, vectors, strict=True)
        ]
        for start in range(0, len(records), UPSERT_BATCH):
            batch = records[start : start + UPSERT_BATCH]
            try:
                self._index.upsert(vectors=batch, namespace=self._namespace, show_progress=False, timeout=self._timeout)
            except (PineconeError, OSError) as exc:  # HTTP errors, timeouts, refused connections
                raise Unavailable(f"Pinecone upsert to {self._host} failed: {exc}") from exc
        # Only now: until every vector carries the new key, searches keep using the previous catalog.
        self._courses = {c.id: c for c in courses}
        self._key = key
        log.info("upserted %d courses into Pinecone namespace %r", len(records), self._namespace)

    def search(self, queries: Vectors, top_k: int, course_filter: CourseFilter) -> list[list[ScoredCourse]]:
        if not self._courses:
            return [[] for _ in range(queries.shape[0])]
        expression = metadata_filter(course_filter, self._key)
        results: list[list[ScoredCourse]] = []
        for row in queries:
            try:
                reply = self._index.query(
                    vector=row.tolist(),
                    top_k=top_k,
                    namespace=self._namespace,
                    filter=expression,
                    include_metadata=False,
                    timeout=self._timeout,
                )
            except (PineconeError, OSError) as exc:  # HTTP errors, timeouts, refused connections
                raise Unavailable(f"Pinecone query to {self._host} failed: {exc}") from exc
            found: list[ScoredCourse] = []
            for match in reply.matches:
                course = self._courses.get(str(match.id))
                if course is None:
                    log.debug("Pinecone returned %r, which the catalog no longer has", match.id)
                    continue
                found.append(ScoredCourse(course, clip_score(float(match.score))))
            results.append(found)
        return results
