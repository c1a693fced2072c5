"""Skill comparison: which job skills a resume covers, how each was matched, and how sure we are.

Definitions (the contract of CompareSkills):
- Every skill is resolved against the vocabulary: by its `skill_id` when the request gives one the vocabulary
  knows, else by its name or any alias (case-insensitive). Two skills are the same skill when they resolve to
  the same vocabulary entry, or, for skills the vocabulary does not know, when their names are equal once
  case-folded with whitespace collapsed.
- Each job skill is matched by the first of these that holds:
  1. `exact`: the resume shows the same skill under its canonical name;
  2. `alias`: the resume shows the same skill under another of its names ("k8s" for Kubernetes), judged from
     the resume's own words (the skill as listed, or the quoted evidence);
  3. `related`: the resume shows a broader skill that the vocabulary's `covers` relation says covers this
     one ("Lean Six Sigma" covers "Lean Manufacturing"); never inferred from names or embeddings;
  4. `semantic`: the cosine similarity of the canonical names' embeddings with the closest resume skill
     reaches the calibrated threshold (services/similarity/calibration.py maps the caller's 0-1 threshold);
     or, when the request gives the resume's text, one of its sentences or clauses says the skill in other
     words (services/similarity/text_coverage.py, its own calibrated cut-off on the same 0-1 scale): the
     passage is the evidence and the resume skill is the job skill's own name;
  5. otherwise `missing` (the closest resume skill and its cosine are still reported).
  Exact, alias and related matches score 1.0 and need no model; semantic ones score their cosine.
- overall_score = sum(weight x score over matched job skills) / sum(weight over all job skills), where a
  required skill weighs 1 and a nice-to-have one NICE_TO_HAVE_WEIGHT: a missing must-have lowers the score
  twice as much as a missing nice-to-have. Always in [0, 1]; plain name lists count every skill as required.
Duplicate skills (the same skill by the rule above) count once: the first spelling is kept, and a job skill
listed as both required and nice to have is required.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from services.common.embedding import normalise_text
from services.common.errors import FieldViolation, InvalidArgument
from services.common.taxonomy import Skill
from services.similarity.calibration import calibrated_cosine, resolve_strictness
from services.similarity.text_coverage import cover_from_text

log = logging.getLogger(__name__)

MAX_SKILLS = 500
MAX_SKILL_CHARS = 200
MAX_SKILL_ID_CHARS = 300
MAX_EVIDENCE_CHARS = 1_000
MAX_EMBED_TEXTS = 256
# How much a nice-to-have skill weighs in overall_score next to a required one (1.0).
NICE_TO_HAVE_WEIGHT = 0.5

EmbedFn = Callable[[Sequence[str]], Awaitable[NDArray[np.float32]]]


class MatchKind(StrEnum):
    """How a job skill was matched with the resume (the proto's MatchKind, without the prefix)."""

    EXACT = "exact"
    ALIAS = "alias"
    RELATED = "related"
    SEMANTIC = "semantic"
    MISSING = "missing"


# Kinds that mean the resume covers the job skill.
COVERED_KINDS = frozenset({MatchKind.EXACT, MatchKind.ALIAS, MatchKind.RELATED, MatchKind.SEMANTIC})


class Vocabulary(Protocol):
    """What matching needs of the skill vocabulary (services.common.taxonomy.Taxonomy has it)."""

    def lookup(self, term: str) -> Skill | None: ...

    def get(self, skill_id: str) -> Skill | None: ...

    def covers(self, broader_id: str, narrower_id: str) -> bool: ...


@dataclass(frozen=True)
class SkillInput:
    """A skill as a request gives it: a bare name, or the NER stage's details."""

    name: str
    skill_id: str = ""
    required: bool = True
    evidence: str = ""


@dataclass(frozen=True)
class SkillMatch:
    """A job skill with its best resume skill ("" when none), their score in [0, 1] and how they matched."""

    job_skill: str
    resume_skill: str
    score: float
    kind: MatchKind = MatchKind.MISSING
    evidence: str = ""
    required: bool = True
    skill_id: str = ""

    @property
    def covered(self) -> bool:
        return self.kind in COVERED_KINDS


@dataclass(frozen=True)
class Comparison:
    """The result of comparing a resume's skills with a job's."""

    matches: list[SkillMatch]
    missing_skills: list[str]
    overall_score: float
    best_matches: list[SkillMatch]
    threshold: float
    calibrated_threshold: float


@dataclass(frozen=True)
class _Resolved:
    """A request skill with the vocabulary entry it names (None when unknown) and its identity key."""

    given: SkillInput
    known: Skill | None
    key: str
    required: bool = True
    # Ids of every skill this one covers through the vocabulary's relation (empty when unknown).
    narrower: frozenset[str] = field(default_factory=frozenset)

    @property
    def canonical(self) -> str:
        return self.known.name if self.known else self.given.name

    @property
    def skill_id(self) -> str:
        return self.known.skill_id if self.known else self.given.skill_id


def validate_skills(field_name: str, skills: Sequence[str], *, required: bool) -> list[str]:
    """Checks a skill list (count, empty or over-long entries) and returns the entries stripped."""
    return [s.name for s in validate_skill_inputs(field_name, [SkillInput(s) for s in skills], required=required)]


def validate_skill_inputs(field_name: str, skills: Sequence[SkillInput], *, required: bool) -> list[SkillInput]:
    """Checks skills with details; `field_name[i]` (plain names) or `field_name[i].name` (details) in errors."""
    if required and not skills:
        raise InvalidArgument.for_field(field_name, "must name at least one skill")
    if len(skills) > MAX_SKILLS:
        raise InvalidArgument.for_field(field_name, f"at most {MAX_SKILLS} skills, got {len(skills)}")
    detailed = field_name.endswith("_details")
    violations: list[FieldViolation] = []
    for i, skill in enumerate(skills):
        where = f"{field_name}[{i}]"
        name_field = f"{where}.name" if detailed else where
        stripped = skill.name.strip()
        if not stripped:
            violations.append(FieldViolation(name_field, "must not be empty"))
        elif len(stripped) > MAX_SKILL_CHARS:
            violations.append(FieldViolation(name_field, f"at most {MAX_SKILL_CHARS} characters, got {len(stripped)}"))
        if len(skill.skill_id) > MAX_SKILL_ID_CHARS:
            violations.append(FieldViolation(f"{where}.skill_id", f"at most {MAX_SKILL_ID_CHARS} characters"))
        if len(skill.evidence) > MAX_EVIDENCE_CHARS:
            violations.append(FieldViolation(f"{where}.evidence", f"at most {MAX_EVIDENCE_CHARS} characters"))
    if violations:
        raise InvalidArgument(f"{len(violations)} bad skill(s) in {field_name}", violations)
    return [
        SkillInput(s.name.strip(), skill_id=s.skill_id.strip(), required=s.required, evidence=s.evidence.strip())
        for s in skills
    ]


def validate_texts(texts: Sequence[str], *, max_chars: int) -> list[str]:
    """Checks the texts of an Embed request: 1 to 256 texts, none empty or longer than `max_chars`."""
    if not texts:
        raise InvalidArgument.for_field("texts", "must hold at least one text")
    if len(texts) > MAX_EMBED_TEXTS:
        raise InvalidArgument.for_field("texts", f"at most {MAX_EMBED_TEXTS} texts per call, got {len(texts)}")
    violations: list[FieldViolation] = []
    for i, text in enumerate(texts):
        if not text.strip():
            violations.append(FieldViolation(f"texts[{i}]", "must not be empty"))
        elif len(text) > max_chars:
            violations.append(FieldViolation(f"texts[{i}]", f"at most {max_chars} characters, got {len(text)}"))
    if violations:
        raise InvalidArgument(f"{len(violations)} bad text(s)", violations)
    return list(texts)


def _resolve(skill: SkillInput, vocabulary: Vocabulary | None) -> _Resolved:
    known = None
    if vocabulary is not None:
        known = (vocabulary.get(skill.skill_id) if skill.skill_id else None) or vocabulary.lookup(skill.name)
    if known is not None:
        key = "id:" + known.skill_id
    elif skill.skill_id:
        key = "id:" + skill.skill_id
    else:
        key = "name:" + normalise_text(skill.name)
    return _Resolved(skill, known, key, skill.required)


def _distinct(skills: Sequence[SkillInput], vocabulary: Vocabulary | None) -> list[_Resolved]:
    """One entry per distinct skill, first spelling kept, order kept; required if any copy is required."""
    seen: dict[str, _Resolved] = {}
    for skill in skills:
        resolved = _resolve(skill, vocabulary)
        first = seen.get(resolved.key)
        if first is None:
            seen[resolved.key] = resolved
        elif resolved.required and not first.required:
            seen[resolved.key] = _Resolved(first.given, first.known, first.key, True)
    return list(seen.values())


def _mentions(text: str, term: str) -> bool:
    """True when `term` stands in `text` as a whole word or phrase, in any case."""
    return re.search(r"(?<!\w)" + re.escape(term) + r"(?!\w)", text, flags=re.IGNORECASE) is not None


def same_skill_kind(resume: _Resolved) -> MatchKind:
    """EXACT or ALIAS for a resume skill that is the job skill: ALIAS when the resume's own words name it by
    another of its names (the listed spelling differs from the canonical name, or the quoted evidence holds an
    alias but not the name)."""
    if normalise_text(resume.given.name) != normalise_text(resume.canonical):
        return MatchKind.ALIAS
    evidence, known = resume.given.evidence, resume.known
    if not evidence or known is None or _mentions(evidence, known.name):
        return MatchKind.EXACT
    return MatchKind.ALIAS if any(_mentions(evidence, alias) for alias in known.aliases) else MatchKind.EXACT


def _evidence(resume: _Resolved) -> str:
    """The resume's words for a matched skill: its quote when the request has one, else the name as listed."""
    return resume.given.evidence or resume.given.name


def _covered_by_vocabulary(
    job: _Resolved, resume_by_key: dict[str, _Resolved], resume: Sequence[_Resolved], vocabulary: Vocabulary | None
) -> SkillMatch | None:
    """The exact, alias or related match of a job skill, or None when only embeddings could tell."""
    same = resume_by_key.get(job.key)
    if same is not None:
        return SkillMatch(
            job.given.name, same.given.name, 1.0, same_skill_kind(same), _evidence(same), job.required, job.skill_id
        )
    if vocabulary is not None and job.known is not None:
        for candidate in resume:
            if candidate.known is not None and vocabulary.covers(candidate.known.skill_id, job.known.skill_id):
                return SkillMatch(
                    job.given.name,
                    candidate.given.name,
                    1.0,
                    MatchKind.RELATED,
                    _evidence(candidate),
                    job.required,
                    job.skill_id,
                )
    return None


def overall_score(best_matches: Sequence[SkillMatch]) -> float:
    """Weighted share of the job covered (see the module docstring); 0.0 for no job skills."""
    total = sum(1.0 if m.required else NICE_TO_HAVE_WEIGHT for m in best_matches)
    covered = sum((1.0 if m.required else NICE_TO_HAVE_WEIGHT) * m.score for m in best_matches if m.covered)
    return min(1.0, max(0.0, covered / total)) if total else 0.0


async def compare_skills(
    resume_skills: Sequence[str | SkillInput],
    job_skills: Sequence[str | SkillInput],
    threshold: float | None,
    *,
    embed: EmbedFn,
    default_threshold: float,
    calibrated_threshold: float,
    vocabulary: Vocabulary | None = None,
    resume_field: str = "resume_skills",
    job_field: str = "job_skills",
    resume_text: str = "",
    text_calibrated_threshold: float | None = None,
) -> Comparison:
    """Matches every job skill with the resume; see the module docstring for the rules and the scoring.

    `threshold` is the caller's 0-1 strictness (None: `default_threshold`); `calibrated_threshold` is the cosine
    that strictness 0.5 maps to. `resume_field` / `job_field` name the request fields in errors. With
    `resume_text` and `text_calibrated_threshold` (the passage cosine of strictness 0.5), job skills still
    missing are looked for in the resume's sentences.
    """
    strictness = resolve_strictness(threshold, default_threshold)
    cosine_floor = calibrated_cosine(strictness, calibrated_threshold)
    resume_inputs = [s if isinstance(s, SkillInput) else SkillInput(s) for s in resume_skills]
    job_inputs = [s if isinstance(s, SkillInput) else SkillInput(s) for s in job_skills]
    resume = _distinct(validate_skill_inputs(resume_field, resume_inputs, required=False), vocabulary)
    job = _distinct(validate_skill_inputs(job_field, job_inputs, required=True), vocabulary)
    resume_by_key = {r.key: r for r in resume}

    best: dict[str, SkillMatch] = {}
    to_embed: list[_Resolved] = []
    for item in job:
        found = _covered_by_vocabulary(item, resume_by_key, resume, vocabulary)
        if found is not None:
            best[item.key] = found
        elif not resume:
            best[item.key] = SkillMatch(item.given.name, "", 0.0, MatchKind.MISSING, "", item.required, item.skill_id)
        else:
            to_embed.append(item)

    if to_embed:
        # Canonical names go to the model: "k8s" is embedded as "Kubernetes" when the vocabulary knows it.
        job_texts = [j.canonical for j in to_embed]
        vectors = await embed([*job_texts, *(r.canonical for r in resume)])
        job_vectors, resume_vectors = vectors[: len(job_texts)], vectors[len(job_texts) :]
        similarity = job_vectors @ resume_vectors.T
        best_index = np.argmax(similarity, axis=1)
        for row, item in enumerate(to_embed):
            closest = resume[int(best_index[row])]
            score = min(1.0, max(0.0, float(similarity[row, int(best_index[row])])))
            if score >= cosine_floor:
                kind, quote = MatchKind.SEMANTIC, _evidence(closest)
            else:
                kind, quote = MatchKind.MISSING, ""
            best[item.key] = SkillMatch(
                item.given.name, closest.given.name, score, kind, quote, item.required, item.skill_id
            )

    if resume_text and text_calibrated_threshold is not None:
        text_floor = calibrated_cosine(strictness, text_calibrated_threshold)
        unmatched = [item for item in job if best[item.key].kind is MatchKind.MISSING]
        # Strictness 1.0 asks for vocabulary matches only (cosine 1.0 is an identical text, not a paraphrase).
        if unmatched and text_floor < 1.0:
            shown = await cover_from_text(
                [list(dict.fromkeys(item.known.terms if item.known else (item.given.name,))) for item in unmatched],
                list(dict.fromkeys(r.canonical for r in resume)),
                resume_text,
                embed=embed,
                floor=text_floor,
            )
            for item, passage in zip(unmatched, shown, strict=True):
                if passage is not None:
                    best[item.key] = SkillMatch(
                        item.given.name,
                        item.canonical,
                        passage.score,
                        MatchKind.SEMANTIC,
                        passage.passage,
                        item.required,
                        item.skill_id,
                    )

    best_matches = [best[item.key] for item in job]
    return Comparison(
        matches=[m for m in best_matches if m.covered],
        missing_skills=[m.job_skill for m in best_matches if not m.covered],
        overall_score=overall_score(best_matches),
        best_matches=best_matches,
        threshold=strictness,
        calibrated_threshold=cosine_floor,
    )
