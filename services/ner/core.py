"""NER service logic: input checks, truncation, and turning vocabulary hits into the skills of a text in context.

No grpc here. The models sit behind two Protocols (`EntityRecognizer`, `VocabularyFinder`) so this logic is tested
with small fakes and run with the spaCy backends of `services.ner.backends`.

Documented limits:
- a batch holds 1..`MAX_BATCH_TEXTS` texts; an empty batch or an empty (blank) text is an InvalidArgument naming
  the field (`texts` or `texts[i]`);
- each text is analysed up to `Settings.max_text_chars` characters (100,000 by default, about 15,000 words);
  a longer text is cut at the last whitespace before the limit and its result has `truncated` set.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from services.common.errors import FieldViolation, InvalidArgument
from services.ner import context, subjects
from services.ner.model import (
    DocumentEntities,
    DocumentKind,
    DocumentSkills,
    EntityRecognizer,
    EntitySpan,
    ExtractedSkill,
    SkillMatch,
    SkillRef,
    TextAnalysis,
    VocabularyFinder,
)
from services.ner.recent import RecentTexts

log = logging.getLogger(__name__)

MAX_BATCH_TEXTS = 256
SKILL_LABEL = "SKILL"
TAXONOMY_SOURCE = "taxonomy"

# Generic words that never count as a skill on their own, whatever the vocabulary says: they show up in every
# text ("strong data skills", "design and development"). Field words such as "marketing", "sales" or
# "finance" are not here: the vocabulary marks them field-gated, so they count in a text of their own field.
GENERIC_WORDS: frozenset[str] = frozenset(
    {
        "ability", "analysis", "application", "applications", "business", "cloud", "code", "coding", "company",
        "computer", "computers", "data", "database", "databases", "design", "developer", "development",
        "engineer", "engineering", "environment", "experience", "framework", "frameworks", "knowledge",
        "language", "languages", "management", "platform", "platforms", "product", "products", "programming",
        "project", "projects", "service", "services", "skill", "skills", "software", "solution", "solutions",
        "system", "systems", "team", "teams", "technology", "technologies", "tool", "tools", "web", "work",
        "years", "it", "support", "strategy", "server", "servers", "model", "models", "api",
    }
)  # fmt: skip

# Base confidence of one mention, by how it was matched (combined over mentions with a noisy-or).
EXACT_CASE_CONFIDENCE = 0.9
OTHER_CASE_CONFIDENCE = 0.75
GUARDED_CONFIDENCE = 0.7
SEMANTIC_CONFIDENCE = 0.6
MAX_CONFIDENCE = 0.99
# spaCy labels whose spans are names of organisations: a skill term inside a longer one is part of a name.
ORGANISATION_LABELS = frozenset({"ORG"})


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


def aggregate_skills(
    matches: Sequence[SkillMatch], *, sentences: context.Sentences | None = None, optional: Sequence[bool] | None = None
) -> list[ExtractedSkill]:
    """Groups hits by skill: mentions in order of first appearance, count, confidence, evidence (the sentence of
    the first mention, when the text's `sentences` are given) and whether the skill is required (any mention
    not optional).

    Sorted by count (most mentioned first), ties by first appearance, so the order is stable.
    """
    flags = list(optional) if optional is not None else [False] * len(matches)
    grouped: dict[str, list[tuple[SkillMatch, bool]]] = {}
    for match, flag in sorted(zip(matches, flags, strict=True), key=lambda pair: pair[0].start_char):
        if is_noise(match.text):
            continue
        grouped.setdefault(match.name, []).append((match, flag))
    result: list[tuple[int, ExtractedSkill]] = []
    for name, pairs in grouped.items():
        hits = [hit for hit, _ in pairs]
        mentions: list[str] = []
        for hit in hits:
            if hit.text not in mentions:
                mentions.append(hit.text)
        first = next((h for h in hits if h.method == "phrase"), hits[0])
        skill = ExtractedSkill(
            name=name,
            category=first.category,
            mentions=tuple(mentions),
            count=len(hits),
            confidence=combined_confidence(hits),
            skill_id=first.skill_id,
            required=not all(flag for _, flag in pairs),
            evidence=context.evidence(sentences, first.start_char, first.end_char) if sentences else "",
            method=first.method,
        )
        result.append((hits[0].start_char, skill))
    result.sort(key=lambda pair: (-pair[1].count, pair[0]))
    return [skill for _, skill in result]


def is_noise(mention: str) -> bool:
    """True for a generic word that is never a skill by itself."""
    return mention.strip().casefold() in GENERIC_WORDS


def combined_confidence(hits: Sequence[SkillMatch]) -> float:
    """Noisy-or of the per-mention confidences: more independent mentions make the skill more certain."""
    doubt = 1.0
    for hit in hits:
        if hit.method != "phrase":
            base = SEMANTIC_CONFIDENCE
        elif hit.guarded:
            base = GUARDED_CONFIDENCE
        elif hit.exact_case:
            base = EXACT_CASE_CONFIDENCE
        else:
            base = OTHER_CASE_CONFIDENCE
        doubt *= 1.0 - base
    return round(min(1.0 - doubt, MAX_CONFIDENCE), 3)


def choose_meaning(hit: SkillMatch, field_name: str) -> SkillMatch | None:
    """The hit as the skill the document's field gives it, or None when no meaning fits.

    A term with one meaning keeps it, unless it is field-gated and the document is of another field. A term
    several skills share takes the one of the document's field (or of a field that reads it the same way).
    """
    if not hit.alternatives:
        if hit.gated and hit.field not in context.group_of(field_name):
            return None
        return hit
    own = SkillRef(hit.name, hit.skill_id, hit.field, hit.category)
    candidates = (own, *hit.alternatives)
    if hit.gated:  # every meaning is field-gated: only one of the document's field may be read ("from discovery
        # to launch" in a design ad is neither legal Discovery nor sales discovery calls)
        candidates = tuple(c for c in candidates if c.field in context.group_of(field_name))
    # The skill the term names outright beats one that lists it as an alias ("GDPR" is the GDPR skill, not
    # Privacy Law); otherwise the document's field decides ("RN").
    chosen = (
        next((c for c in candidates if c.name.casefold() == hit.text.casefold()), None)
        or next((c for c in candidates if c.field == field_name), None)
        or next((c for c in candidates if c.field in context.group_of(field_name)), None)
    )
    return None if chosen is None else meaning(hit, chosen)


def meaning(hit: SkillMatch, chosen: SkillRef) -> SkillMatch:
    """The hit read as `chosen`, one of the skills its term may name (and no longer as any other)."""
    return dataclasses.replace(
        hit, name=chosen.name, category=chosen.category, skill_id=chosen.skill_id, field=chosen.field, alternatives=()
    )


def asked_meaning(hit: SkillMatch, asked: frozenset[str]) -> SkillMatch | None:
    """The hit as a skill the paired job ad asks for, or None: a resume read for a given job keeps a field-gated
    term, a shared term or a prose phrase its own field would not read, when its meaning is one the job asks for.
    The job's own reading settled the term's meaning; the resume only has to show it."""
    own = SkillRef(hit.name, hit.skill_id, hit.field, hit.category)
    chosen = next((c for c in (own, *hit.alternatives) if c.skill_id and c.skill_id in asked), None)
    return None if chosen is None else meaning(hit, chosen)


def read_document(
    text: str,
    kind: DocumentKind,
    analysis: TextAnalysis,
    entities: Sequence[EntitySpan],
    *,
    truncated: bool = False,
    asked: frozenset[str] = frozenset(),
) -> DocumentSkills:
    """The skills of one text in context: its field, its organisations, its sections (see `context`). `asked`
    holds the skill ids of the job ad a resume is read for (see `asked_meaning`)."""
    organisations = [
        (e.start_char, e.end_char)
        for e in entities
        if e.label in ORGANISATION_LABELS and not context.names_a_credential(e.text)
    ]
    plain = [
        h.field
        for h in analysis.hits
        if not h.alternatives and not h.gated and h.method == "phrase" and not is_noise(h.text)
    ]
    field_name, occupations = context.detect_field(plain, analysis.occupations)
    job = kind is DocumentKind.JOB_DESCRIPTION
    sections = context.split_sections(text) if job else []
    sentences = context.Sentences(text)
    kept: list[SkillMatch] = []
    optional: list[bool] = []
    held = [m for h in analysis.held if (m := asked_meaning(h, asked)) is not None] if asked and not job else []
    for hit in sorted([*analysis.hits, *held], key=lambda h: h.start_char):
        # For a skill the job asks for, a resume's degree subject and its writer's own role show it ("B.F.A.
        # Interaction Design", "Senior Product Designer" for Product Design); otherwise neither is a skill.
        as_asked = asked_meaning(hit, asked) if asked and not job else None
        shown = as_asked is not None
        if (
            context.inside_organisation(text, hit.start_char, hit.end_char, organisations)
            or (
                context.is_role_noun(hit.text, hit.next_word)
                and not (shown and context.names_own_role(text, hit.start_char, hit.end_char, hit.text, hit.next_word))
            )
            or context.names_a_product(hit.text, hit.next_word)
            or (context.is_degree_subject(text, hit.start_char, hit.end_char) and not shown)
            or context.names_a_department(text, hit.start_char, hit.next_word)
            or (job and context.section_at(sections, hit.start_char) == "blurb")
            or (job and context.is_blurb_sentence(sentences, sections, hit.start_char))
            or (job and subjects.names_work_subject(text, hit.start_char))
        ):
            continue
        chosen = choose_meaning(hit, field_name) or as_asked
        if chosen is None:
            continue
        kept.append(chosen)
        optional.append(job and context.is_optional(sentences, sections, hit.start_char))
    if job:
        examples = context.examples_of_earlier(text, [(h.start_char, h.end_char) for h in kept])
        broader = context.broader_beside_narrower(sentences, [(h.name, h.start_char) for h in kept])
        dropped = examples | broader
        kept = [h for i, h in enumerate(kept) if i not in dropped]
        optional = [f for i, f in enumerate(optional) if i not in dropped]
    return DocumentSkills(
        skills=aggregate_skills(kept, sentences=sentences, optional=optional),
        truncated=truncated,
        field=field_name,
        occupations=occupations[:5],
    )


def merge_entities(model_entities: Sequence[EntitySpan], skill_matches: Sequence[SkillMatch]) -> list[EntitySpan]:
    """spaCy entities plus SKILL spans from the vocabulary, in order of appearance.

    A model entity lying inside a vocabulary skill span is dropped: the small English model often labels tool
    names as PERSON or GPE ("Docker", "Scala"), and the curated vocabulary is the better judge of those spans.
    """
    skills = [
        EntitySpan(m.text, SKILL_LABEL, m.start_char, m.end_char, TAXONOMY_SOURCE)
        for m in skill_matches
        if not is_noise(m.text) and m.method == "phrase"
    ]
    kept = [
        ent
        for ent in model_entities
        if not any(s.start_char <= ent.start_char and ent.end_char <= s.end_char for s in skills)
    ]
    return sorted([*kept, *skills], key=lambda e: (e.start_char, e.end_char))


class NerCore:
    """The two use cases of the service, over injected backends."""

    def __init__(
        self,
        *,
        skills: VocabularyFinder,
        entities: EntityRecognizer,
        max_text_chars: int,
        cache_size: int = 256,
    ) -> None:
        if max_text_chars <= 0:
            raise ValueError("max_text_chars must be positive")
        self._skills = skills
        self._entities = entities
        self._max_text_chars = max_text_chars
        self._cache: RecentTexts[tuple[list[EntitySpan], TextAnalysis]] = RecentTexts(cache_size)

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

    def _analyse(self, texts: list[str]) -> list[tuple[list[EntitySpan], TextAnalysis]]:
        """Entities and vocabulary analysis of each text: from the cache, the rest in one batch per model."""
        found = {text: hit for text in dict.fromkeys(texts) if (hit := self._cache.get(text)) is not None}
        missing = [text for text in dict.fromkeys(texts) if text not in found]
        if missing:
            for text, ents, analysis in zip(
                missing, self._entities.entities(missing), self._skills.analyse(missing), strict=True
            ):
                found[text] = (ents, analysis)
                self._cache.put(text, (ents, analysis))
        return [found[text] for text in texts]

    def extract_skills(
        self, texts: Sequence[str], kinds: Sequence[DocumentKind] | None = None, *, guided: bool = False
    ) -> list[DocumentSkills]:
        """Skills of each text read in context, in input order; texts without a kind are read as resumes.

        `guided`: the texts are one application, so each resume is read knowing the skills its job ads ask for
        (`asked_meaning`); otherwise every text is read on its own.
        """
        prepared, truncated = self._prepare(texts)
        kinds = list(kinds or [])
        kinds += [DocumentKind.RESUME] * (len(prepared) - len(kinds))
        analysed = self._analyse(prepared)
        jobs = {
            i: read_document(prepared[i], kinds[i], analysed[i][1], analysed[i][0], truncated=truncated[i])
            for i, kind in enumerate(kinds)
            if kind is DocumentKind.JOB_DESCRIPTION
        }
        asked = frozenset(s.skill_id for doc in jobs.values() for s in doc.skills if s.skill_id) if guided else None
        return [
            jobs[i]
            if i in jobs
            else read_document(text, kind, analysis, ents, truncated=cut, asked=asked or frozenset())
            for i, (text, kind, (ents, analysis), cut) in enumerate(
                zip(prepared, kinds, analysed, truncated, strict=True)
            )
        ]

    def extract_entities(self, texts: Sequence[str]) -> list[DocumentEntities]:
        """Model entities plus vocabulary SKILL spans of each text, in input order."""
        prepared, truncated = self._prepare(texts)
        return [
            DocumentEntities(entities=merge_entities(ents, analysis.hits), truncated=cut)
            for (ents, analysis), cut in zip(self._analyse(prepared), truncated, strict=True)
        ]
