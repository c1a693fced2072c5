"""Which courses list which skills, so a search for a skill finds every course that teaches it.

Queries are usually missing skills under their canonical names ("Telemetry Monitoring"), and the catalog lists
the skills each course teaches under the same names. Ranking by embedding alone can leave a course that lists
the skill outside the top k (a long description about something close, or a terse title), and then the
recommendation stage cannot offer it. So a search first takes the courses whose `skills` name the query
(compared through the skill vocabulary when there is one, so "Postgres" finds a course listing "PostgreSQL";
otherwise case-folded), ranks them among themselves by cosine, and only then fills up with the index's
results. Scores stay the real cosines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from services.common.catalog import Course
from services.common.taxonomy import Taxonomy
from services.retrieval.core import CourseFilter, ScoredCourse, clip_score

SkillKey = Callable[[str], str]


def plain_key(name: str) -> str:
    """Skill identity without a vocabulary: case-folded, whitespace collapsed."""
    return " ".join(name.casefold().split())


def vocabulary_key(vocabulary: Taxonomy) -> SkillKey:
    """Skill identity through the vocabulary: every name of one skill gives its id; unknown names the plain key."""

    def key(name: str) -> str:
        known = vocabulary.lookup(name)
        return f"id:{known.skill_id}" if known is not None else plain_key(name)

    return key


class SkillDirectory:
    """Course rows by skill key, with the course vectors to rank them by."""

    def __init__(self, courses: Sequence[Course], vectors: NDArray[np.float32], *, key: SkillKey = plain_key) -> None:
        if vectors.shape[0] != len(courses):
            raise ValueError(f"{len(courses)} courses but {vectors.shape[0]} vectors")
        self._courses = list(courses)
        self._vectors = vectors
        self._key = key
        self._rows: dict[str, list[int]] = {}
        for row, course in enumerate(courses):
            for skill in dict.fromkeys(key(s) for s in course.skills):
                self._rows.setdefault(skill, []).append(row)

    def __len__(self) -> int:
        return len(self._rows)

    def listing(self, query: str, vector: NDArray[np.float32], course_filter: CourseFilter) -> list[ScoredCourse]:
        """The courses the filter allows that list `query` as a skill, with their cosine to `vector`, in
        catalog order."""
        rows = [r for r in self._rows.get(self._key(query), ()) if course_filter.allows(self._courses[r])]
        if not rows:
            return []
        scores = self._vectors[rows] @ vector
        return [ScoredCourse(self._courses[r], clip_score(float(score))) for r, score in zip(rows, scores, strict=True)]
