"""What the NER service reads and answers, as plain data: the spans and hits the models find, the skills of a
document in context, and the two Protocols its models sit behind (`EntityRecognizer`, `VocabularyFinder`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class DocumentKind(StrEnum):
    """What a text is: a resume, or a job ad (whose sections say what is required)."""

    RESUME = "resume"
    JOB_DESCRIPTION = "job_description"


@dataclass(frozen=True)
class EntitySpan:
    """One labelled span of a text, with character offsets into the (possibly truncated) text."""

    text: str
    label: str
    start_char: int
    end_char: int
    source: str


@dataclass(frozen=True)
class SkillRef:
    """Another skill a shared term may mean ("RN": React Native or a Registered Nurse licence)."""

    name: str
    skill_id: str
    field: str
    category: str


@dataclass(frozen=True)
class SkillMatch:
    """One vocabulary hit in a text: which skill, where, how it was matched and what else it may mean."""

    name: str
    category: str
    text: str
    start_char: int
    end_char: int
    exact_case: bool = True
    guarded: bool = False
    skill_id: str = ""
    field: str = ""
    gated: bool = False
    method: str = "phrase"
    score: float = 1.0
    alternatives: tuple[SkillRef, ...] = ()
    next_word: str = ""


@dataclass(frozen=True)
class TextAnalysis:
    """What the vocabulary matcher found in one text: skill hits in order, occupation titles (name, field,
    weighted count) best first."""

    hits: list[SkillMatch] = dataclasses.field(default_factory=list)
    occupations: list[tuple[str, str, int]] = dataclasses.field(default_factory=list)
    # Weaker readings only a resume read for a job uses, and only for skills the job asks for: a term inside a
    # longer one that won the overlap ("AWS" in "AWS S3"), a prose name spread over its sentence.
    held: list[SkillMatch] = dataclasses.field(default_factory=list)


@dataclass(frozen=True)
class ExtractedSkill:
    """A distinct skill of one text."""

    name: str
    category: str
    mentions: tuple[str, ...]
    count: int
    confidence: float
    skill_id: str = ""
    required: bool = True
    evidence: str = ""
    method: str = "phrase"


@dataclass(frozen=True)
class DocumentSkills:
    """The skills of one text, most mentioned first, and the field and occupations it reads as."""

    skills: list[ExtractedSkill] = dataclasses.field(default_factory=list)
    truncated: bool = False
    field: str = ""
    occupations: list[str] = dataclasses.field(default_factory=list)


@dataclass(frozen=True)
class DocumentEntities:
    """The entities of one text, in order of appearance."""

    entities: list[EntitySpan] = dataclasses.field(default_factory=list)
    truncated: bool = False


class EntityRecognizer(Protocol):
    """A statistical NER model (spaCy in production)."""

    @property
    def source(self) -> str:
        """Name of the model, reported with each entity."""
        ...

    def entities(self, texts: Sequence[str]) -> list[list[EntitySpan]]:
        """Entities of each text, in input order."""
        ...


class VocabularyFinder(Protocol):
    """The vocabulary matcher (a spaCy PhraseMatcher plus prose matching in production)."""

    def analyse(self, texts: Sequence[str]) -> list[TextAnalysis]:
        """Skill hits (overlaps resolved) and occupation titles of each text, in input order."""
        ...
