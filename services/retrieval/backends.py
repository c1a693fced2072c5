"""Where courses are searched: the `Index` protocol, the in-process exact index, and the course vectors
(embedded once per catalog content and kept in a .npy file next to the catalog)."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from services.common.catalog import CatalogError, Course, load_catalog
from services.common.embedding import Embedder
from services.common.taxonomy import Taxonomy, load_optional_taxonomy
from services.retrieval.core import CourseFilter, ScoredCourse, clip_score, course_text
from services.retrieval.settings import RetrievalSettings

log = logging.getLogger(__name__)

Vectors = NDArray[np.float32]

# Bump when course_text() changes: cached vectors of the old recipe must not be reused.
TEXT_RECIPE = "title+skills+description/v1"
VOCABULARY_FILE = "skills.jsonl"


class Index(Protocol):
    """A searchable set of course vectors. Methods may block (network): callers run them in a thread."""

    @property
    def backend(self) -> str:
        """Short name for GetCatalog: "exact", "pinecone"."""
        ...

    def build(self, courses: Sequence[Course], vectors: Vectors) -> None:
        """Replaces (or upserts) the indexed courses; `vectors[i]` is the unit vector of `courses[i]`."""
        ...

    def search(self, queries: Vectors, top_k: int, course_filter: CourseFilter) -> list[list[ScoredCourse]]:
        """For each query row, up to `top_k` courses allowed by the filter, best first."""
        ...


class ExactIndex:
    """Brute-force inner product over a numpy matrix: exact, and faster than faiss at catalog scale.

    The filter is applied before ranking, so a search returns min(top_k, courses passing the filter)
    results: filtering never eats into top_k.
    """

    backend = "exact"

    def __init__(self) -> None:
        self._courses: list[Course] = []
        self._matrix: Vectors = np.zeros((0, 0), dtype=np.float32)
        self._levels = np.array([], dtype=object)
        self._providers = np.array([], dtype=object)
        self._durations = np.array([], dtype=np.int64)
        self._fields = np.array([], dtype=object)

    def __len__(self) -> int:
        return len(self._courses)

    def build(self, courses: Sequence[Course], vectors: Vectors) -> None:
        if vectors.ndim != 2 or vectors.shape[0] != len(courses):
            raise ValueError(f"{len(courses)} courses but vectors of shape {vectors.shape}")
        self._courses = list(courses)
        self._matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        self._levels = np.array([c.level for c in courses], dtype=object)
        self._providers = np.array([c.provider.casefold() for c in courses], dtype=object)
        self._durations = np.array([c.duration_hours for c in courses], dtype=np.int64)
        self._fields = np.array([c.field for c in courses], dtype=object)

    def allowed(self, course_filter: CourseFilter) -> NDArray[np.intp]:
        """Row numbers of the courses the filter allows, in catalog order."""
        mask = np.ones(len(self._courses), dtype=bool)
        if course_filter.levels:
            mask &= np.isin(self._levels, list(course_filter.levels))
        if course_filter.max_duration_hours:
            mask &= self._durations <= course_filter.max_duration_hours
        if course_filter.providers:
            mask &= np.isin(self._providers, list(course_filter.providers))
        if course_filter.fields:
            mask &= np.isin(self._fields, list(course_filter.fields))
        return np.flatnonzero(mask)

    def search(self, queries: Vectors, top_k: int, course_filter: CourseFilter) -> list[list[ScoredCourse]]:
        rows = self.allowed(course_filter)
        if rows.size == 0 or top_k <= 0:
            return [[] for _ in range(queries.shape[0])]
        # Indexing copies the matrix: only worth it when the filter leaves out some courses.
        matrix = self._matrix if rows.size == len(self._courses) else self._matrix[rows]
        scores = queries @ matrix.T
        k = min(top_k, rows.size)
        results: list[list[ScoredCourse]] = []
        for row_scores in scores:
            top = np.argpartition(-row_scores, k - 1)[:k] if k < rows.size else np.arange(rows.size)
            # Best first; equal scores in catalog order, so results are deterministic.
            ordered = top[np.lexsort((top, -row_scores[top]))]
            results.append(
                [ScoredCourse(self._courses[int(rows[i])], clip_score(float(row_scores[i]))) for i in ordered]
            )
        return results


def catalog_path(settings: RetrievalSettings) -> Path:
    """The imported catalog when one exists, else the bundled one."""
    imported = settings.imported_catalog_path
    return imported if imported.exists() else settings.catalog_path


def load_courses(settings: RetrievalSettings) -> tuple[list[Course], Path]:
    """Reads the catalog the service should serve; a missing or bad file is a CatalogError."""
    path = catalog_path(settings)
    if not path.exists():
        raise CatalogError(
            f"no course catalog at {path}: add one or run `skillbridge catalog import FILE.csv|FILE.jsonl`"
        )
    try:
        return load_catalog(path), path
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: cannot read the catalog: {exc}") from exc


def load_vocabulary(settings: RetrievalSettings) -> Taxonomy | None:
    """The skill vocabulary in data/ (skills.jsonl), to find courses by any name of a skill; None, with a
    warning, when it is missing or unreadable (skill names are then compared case-folded)."""
    return load_optional_taxonomy(settings.data_dir / VOCABULARY_FILE, "course skills compared as written")


def content_key(courses: Sequence[Course], model_name: str, dimensions: int) -> str:
    """A hash of everything the course vectors depend on: model, text recipe, and each course's text."""
    digest = hashlib.sha256(f"{model_name}\n{dimensions}\n{TEXT_RECIPE}\n".encode())
    for course in courses:
        digest.update(course_text(course).encode())
        digest.update(b"\x00")
    return digest.hexdigest()[:24]


def vectors_cache_path(catalog: Path, key: str) -> Path:
    """The hidden .npy beside the catalog that holds the vectors of this exact content."""
    return catalog.with_name(f".{catalog.name}.vectors-{key}.npy")


def _read_cached(path: Path, rows: int, dimensions: int) -> Vectors | None:
    try:
        vectors: Vectors = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable vector cache %s: %s", path, exc)
        return None
    if vectors.shape != (rows, dimensions) or vectors.dtype != np.float32:
        log.warning("ignoring vector cache %s of shape %s %s", path, vectors.shape, vectors.dtype)
        return None
    return vectors


def _write_cache(path: Path, vectors: Vectors) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("wb") as handle:
            np.save(handle, vectors, allow_pickle=False)
        tmp.replace(path)
        # Vectors of earlier catalog contents are dead weight now.
        for stale in path.parent.glob(path.name.split(".vectors-")[0] + ".vectors-*.npy"):
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError as exc:  # a read-only data dir costs a re-embed at the next start, nothing more
        log.warning("could not write vector cache %s: %s", path, exc)
        tmp.unlink(missing_ok=True)


def course_vectors(courses: Sequence[Course], embedder: Embedder, catalog: Path) -> Vectors:
    """The unit vectors of `courses`: from the .npy cache when the catalog content is unchanged, else
    embedded now (and cached)."""
    key = content_key(courses, embedder.model_name, embedder.dimensions)
    path = vectors_cache_path(catalog, key)
    if path.exists():
        cached = _read_cached(path, len(courses), embedder.dimensions)
        if cached is not None:
            log.info("loaded %d course vectors from %s", len(courses), path)
            return cached
    started = time.perf_counter()
    vectors = embedder.embed([course_text(c) for c in courses])
    log.info("embedded %d courses in %.2f s", len(courses), time.perf_counter() - started)
    _write_cache(path, vectors)
    return vectors
