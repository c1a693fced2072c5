"""What the resume already shows, judged with the skill vocabulary, so no course is recommended for it.

- Two names are the same skill when the vocabulary resolves them to the same entry (any alias, any case:
  "Postgres" and "PostgreSQL"); names it does not know compare case-folded with whitespace collapsed.
- The resume shows a skill when it lists that skill, or a broader one that the vocabulary's `covers` relation
  says covers it ("Lean Six Sigma" shows "Lean Manufacturing"; never the other way round).
- A course is *for* the skills its title names (by any of their names, as whole words); a course whose title
  names none of its skills is for its first listed skill. A course is for something the resume shows when
  every skill it is for is shown: a "Lean Six Sigma Green Belt" course for a Green Belt holder, an
  "Excel Basics" course for someone who lists Excel. Such courses are never recommended, whatever else they
  teach on the side.
- The job's field, when the caller does not say, is the most common field among the job skills the
  vocabulary knows, leaving out "general" (skills of every field); "" when none is known.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol

from services.common.catalog import Course
from services.common.taxonomy import Skill

# The vocabulary's field for skills of every occupation: it says nothing about which field a job is in.
GENERAL_FIELD = "general"
SOFT_SKILLS_CATEGORY = "Soft Skills"


class Vocabulary(Protocol):
    """What this module needs of the skill vocabulary (services.common.taxonomy.Taxonomy has it)."""

    def lookup(self, term: str) -> Skill | None: ...

    def narrower(self, skill_id: str) -> frozenset[str]: ...


def _normalise(text: str) -> str:
    return " ".join(text.casefold().split())


class SkillKeys:
    """Identity of skill names: the vocabulary entry's id when it knows the name, else the normalised name."""

    def __init__(self, vocabulary: Vocabulary | None) -> None:
        self._vocabulary = vocabulary
        self._cache: dict[str, str] = {}

    def skill(self, name: str) -> Skill | None:
        return self._vocabulary.lookup(name) if self._vocabulary is not None else None

    def key(self, name: str) -> str:
        """The same string for every name of one skill."""
        found = self._cache.get(name)
        if found is None:
            known = self.skill(name)
            found = f"id:{known.skill_id}" if known is not None else f"name:{_normalise(name)}"
            self._cache[name] = found
        return found

    def is_soft(self, name: str) -> bool:
        """True for a soft skill of the vocabulary (its category SOFT_SKILLS_CATEGORY: leadership, teamwork)."""
        known = self.skill(name)
        return known is not None and known.category == SOFT_SKILLS_CATEGORY

    def covered_keys(self, name: str) -> set[str]:
        """The key of `name` and of every skill the vocabulary says it covers."""
        keys = {self.key(name)}
        known = self.skill(name)
        if known is not None and self._vocabulary is not None:
            keys |= {f"id:{narrower}" for narrower in self._vocabulary.narrower(known.skill_id)}
        return keys

    def names(self, name: str) -> tuple[str, ...]:
        """Every way the vocabulary writes the skill `name` names (just `name` when it is unknown)."""
        known = self.skill(name)
        return (name, *known.terms) if known is not None else (name,)


class ResumeSkills:
    """The skills a resume shows, with the narrower skills they cover."""

    def __init__(self, resume_skills: Iterable[str], keys: SkillKeys) -> None:
        self._keys = keys
        self._shown: set[str] = set()
        for name in resume_skills:
            self._shown |= keys.covered_keys(name)

    def shows(self, skill: str) -> bool:
        """True when the resume lists `skill`, another of its names, or a broader skill covering it."""
        return self._keys.key(skill) in self._shown

    def shows_all(self, skills: Iterable[str]) -> bool:
        listed = list(skills)
        return bool(listed) and all(self.shows(s) for s in listed)


_WORD = re.compile(r"[\w+#]+")


@functools.lru_cache(maxsize=8192)
def _words(text: str) -> str:
    """Lower-case words (keeping "+" and "#": C++, C#) joined by single spaces, padded with one space each side,
    so that a phrase is found as whole words by a plain substring test."""
    return " " + " ".join(_WORD.findall(text.casefold())) + " "


def course_subjects(course: Course, keys: SkillKeys) -> tuple[str, ...]:
    """The skills a course is for: those its title names, else its first listed skill."""
    title = _words(course.title)
    named = tuple(s for s in course.skills if any(_words(n) in title for n in keys.names(s) if _words(n) != "  "))
    if named:
        return named
    return course.skills[:1]


def infer_field(job_skills: Sequence[str], keys: SkillKeys) -> str:
    """The most common field of the known job skills other than "general" (first seen wins a tie)."""
    fields: Counter[str] = Counter()
    for name in job_skills:
        known = keys.skill(name)
        if known is not None and known.field and known.field != GENERAL_FIELD:
            fields[known.field] += 1
    return fields.most_common(1)[0][0] if fields else ""
