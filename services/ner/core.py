"""NER service logic: input checks, truncation, and turning raw matches into canonical, deduplicated skills.

No grpc here. The models sit behind two Protocols (`EntityRecognizer`, `SkillFinder`) so this logic is tested
with small fakes and run with the spaCy backends of `services.ner.backends`.

Documented limits:
- a batch holds 1..`MAX_BATCH_TEXTS` texts; an empty batch or an empty (blank) text is an InvalidArgument naming
  the field (`texts` or `texts[i]`);
- each text is analysed up to `Settings.max_text_chars` characters (100,000 by default, about 15,000 words);
  a longer text is cut at the last whitespace before the limit and its result has `truncated` set.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from services.common.errors import FieldViolation, InvalidArgument

log = logging.getLogger(__name__)

MAX_BATCH_TEXTS = 256
SKILL_LABEL = "SKILL"
TAXONOMY_SOURCE = "taxonomy"

# Generic words that must never count as a skill on their own, whatever a taxonomy file says: they show up in
# every job ad ("strong data skills", "design and development") and would drown the real skills.
NOISE_TERMS: frozenset[str] = frozenset(
    {
        "ability", "analysis", "application", "applications", "business", "cloud", "code", "coding", "company",
        "computer", "computers", "data", "database", "databases", "design", "developer", "development",
        "engineer", "engineering", "environment", "experience", "framework", "frameworks", "knowledge",
        "language", "languages", "management", "platform", "platforms", "product", "products", "programming",
        "project", "projects", "security", "service", "services", "skill", "skills", "software", "solution",
        "solutions", "system", "systems", "team", "teams", "technology", "technologies", "testing", "tool",
        "tools", "web", "work", "years", "it", "sales", "operations", "research", "support", "strategy",
        "marketing", "finance", "network", "networking", "server", "servers", "model", "models", "api",
    }
)  # fmt: skip

# Base confidence of one mention, by how it was matched (combined over mentions with a noisy-or).
EXACT_CASE_CONFIDENCE = 0.9
OTHER_CASE_CONFIDENCE = 0.75
GUARDED_CONFIDENCE = 0.7
MAX_CONFIDENCE = 0.99


@dataclass(frozen=True)
class EntitySpan:
    """One labelled span of a text, with character offsets into the (possibly truncated) text."""

    text: str
    label: str
    start_char: int
    end_char: int
    source: str


@dataclass(frozen=True)
class SkillMatch:
    """One taxonomy hit in a text: which canonical skill, where, and how reliable the match kind is."""

    name: str
    category: str
    text: str
    start_char: int
    end_char: int
    exact_case: bool = True
    guarded: bool = False


@dataclass(frozen=True)
class ExtractedSkill:
    """A distinct canonical skill of one text."""

    name: str
    category: str
    mentions: tuple[str, ...]
    count: int
    confidence: float


@dataclass(frozen=True)
class DocumentSkills:
    """The skills of one text, most mentioned first."""

    skills: list[ExtractedSkill] = field(default_factory=list)
    truncated: bool = False


@dataclass(frozen=True)
class DocumentEntities:
    """The entities of one text, in order of appearance."""

    entities: list[EntitySpan] = field(default_factory=list)
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


class SkillFinder(Protocol):
    """A gazetteer over the skill taxonomy (a spaCy PhraseMatcher in production)."""

    def find(self, texts: Sequence[str]) -> list[list[SkillMatch]]:
        """Taxonomy hits of each text, in input order; overlapping hits already resolved."""
        ...


def validate_texts(texts: Sequence[str]) -> None:
    """Raises InvalidArgument, listing every bad field, for an empty or oversized batch or a blank text."""
    if not texts:
        raise InvalidArgument.for_field("texts", "at least one text is required")
    if len(texts) > MAX_BATCH_TEXTS:
        raise InvalidArgument.for_field("texts", f"at most {MAX_BATCH_TEXTS} texts per request, got {len(texts)}")
    violations = [
        FieldViolation(f"texts[{i}]", "must not be empty or only whitespace")
        for i, text in enumerate(texts)
        if not text.strip()
    ]
    if violations:
        raise InvalidArgument(f"{len(violations)} empty text(s) in the batch", violations)


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """The head of `text` up to `limit` characters, cut at whitespace when one is near; and whether it was cut."""
    if len(text) <= limit:
        return text, False
    head = text[:limit]
    # Cutting inside a word could turn "Kubernetes" into a different term; back off to the last whitespace
    # if there is one in the final 1% of the window.
    space = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
    if space >= limit - max(limit // 100, 1):
        head = head[:space]
    return head, True


def aggregate_skills(matches: Sequence[SkillMatch]) -> list[ExtractedSkill]:
    """Groups hits by canonical skill: mentions in order of first appearance, count, confidence, noise dropped.

    Sorted by count (most mentioned first), ties by first appearance, so the order is stable.
    """
    grouped: dict[str, list[SkillMatch]] = {}
    for match in sorted(matches, key=lambda m: m.start_char):
        if is_noise(match.text):
            continue
        grouped.setdefault(match.name, []).append(match)
    result: list[tuple[int, ExtractedSkill]] = []
    for name, hits in grouped.items():
        mentions: list[str] = []
        for hit in hits:
            if hit.text not in mentions:
                mentions.append(hit.text)
        skill = ExtractedSkill(
            name=name,
            category=hits[0].category,
            mentions=tuple(mentions),
            count=len(hits),
            confidence=combined_confidence(hits),
        )
        result.append((hits[0].start_char, skill))
    result.sort(key=lambda pair: (-pair[1].count, pair[0]))
    return [skill for _, skill in result]


def is_noise(mention: str) -> bool:
    """True for a generic word that is never a skill by itself."""
    return mention.strip().casefold() in NOISE_TERMS


def combined_confidence(hits: Sequence[SkillMatch]) -> float:
    """Noisy-or of the per-mention confidences: more independent mentions make the skill more certain."""
    doubt = 1.0
    for hit in hits:
        if hit.guarded:
            base = GUARDED_CONFIDENCE
        elif hit.exact_case:
            base = EXACT_CASE_CONFIDENCE
        else:
            base = OTHER_CASE_CONFIDENCE
        doubt *= 1.0 - base
    return round(min(1.0 - doubt, MAX_CONFIDENCE), 3)


def merge_entities(model_entities: Sequence[EntitySpan], skill_matches: Sequence[SkillMatch]) -> list[EntitySpan]:
    """spaCy entities plus SKILL spans from the taxonomy, in order of appearance.

    A model entity lying inside a taxonomy skill span is dropped: the small English model often labels tool
    names as PERSON or GPE ("Docker", "Scala"), and the curated taxonomy is the better judge of those spans.
    """
    skills = [
        EntitySpan(m.text, SKILL_LABEL, m.start_char, m.end_char, TAXONOMY_SOURCE)
        for m in skill_matches
        if not is_noise(m.text)
    ]
    kept = [
        ent
        for ent in model_entities
        if not any(s.start_char <= ent.start_char and ent.end_char <= s.end_char for s in skills)
    ]
    return sorted([*kept, *skills], key=lambda e: (e.start_char, e.end_char))


class NerCore:
    """The two use cases of the service, over injected backends."""

    def __init__(self, *, skills: SkillFinder, entities: EntityRecognizer, max_text_chars: int) -> None:
        if max_text_chars <= 0:
            raise ValueError("max_text_chars must be positive")
        self._skills = skills
        self._entities = entities
        self._max_text_chars = max_text_chars

    @property
    def max_text_chars(self) -> int:
        """The per-text limit in characters; longer texts are truncated."""
        return self._max_text_chars

    def _prepare(self, texts: Sequence[str]) -> tuple[list[str], list[bool]]:
        validate_texts(texts)
        cut = [truncate(text, self._max_text_chars) for text in texts]
        if any(flag for _, flag in cut):
            log.info("truncated %d of %d texts to %d chars", sum(f for _, f in cut), len(cut), self._max_text_chars)
        return [text for text, _ in cut], [flag for _, flag in cut]

    def extract_skills(self, texts: Sequence[str]) -> list[DocumentSkills]:
        """Canonical skills of each text, in input order."""
        prepared, truncated = self._prepare(texts)
        matches = self._skills.find(prepared)
        return [
            DocumentSkills(skills=aggregate_skills(hits), truncated=cut)
            for hits, cut in zip(matches, truncated, strict=True)
        ]

    def extract_entities(self, texts: Sequence[str]) -> list[DocumentEntities]:
        """Model entities plus taxonomy SKILL spans of each text, in input order."""
        prepared, truncated = self._prepare(texts)
        model = self._entities.entities(prepared)
        matches = self._skills.find(prepared)
        return [
            DocumentEntities(entities=merge_entities(ents, hits), truncated=cut)
            for ents, hits, cut in zip(model, matches, truncated, strict=True)
        ]
