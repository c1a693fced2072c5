"""Skill comparison: which job skills a resume covers, by exact name first and by meaning second.

Definitions (the contract of CompareSkills):
- Two skills match exactly when their canonical forms are equal: the taxonomy's canonical name when the
  taxonomy knows the term, then case-folded with whitespace collapsed. An exact match scores 1.0 and needs
  no model.
- Otherwise a job skill's score is the cosine similarity of its embedding with its closest resume skill's,
  clipped to [0, 1]. The job skill is matched when that score is >= the threshold, missing otherwise.
- overall_score = (sum of the scores of the matched job skills) / (number of distinct job skills): the share
  of the job's skills that the resume covers, each weighted by how close its match is. Missing skills add 0.
Duplicate skills (same canonical form) in either list count once; the first spelling is kept.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from services.common.embedding import normalise_text
from services.common.errors import FieldViolation, InvalidArgument

log = logging.getLogger(__name__)

MAX_SKILLS = 500
MAX_SKILL_CHARS = 200
MAX_EMBED_TEXTS = 256

EmbedFn = Callable[[Sequence[str]], Awaitable[NDArray[np.float32]]]
CanonicalFn = Callable[[str], str]


@dataclass(frozen=True)
class SkillMatch:
    """A job skill with its closest resume skill ("" when the resume has none) and their score in [0, 1]."""

    job_skill: str
    resume_skill: str
    score: float


@dataclass(frozen=True)
class Comparison:
    """The result of comparing a resume's skills with a job's."""

    matches: list[SkillMatch]
    missing_skills: list[str]
    overall_score: float
    best_matches: list[SkillMatch]
    threshold: float


def resolve_threshold(threshold: float, default: float) -> float:
    """0 means `default`; anything else must lie in [0, 1]."""
    if math.isnan(threshold) or threshold < 0.0 or threshold > 1.0:
        raise InvalidArgument.for_field("threshold", f"must be between 0 and 1, got {threshold}")
    return default if threshold == 0.0 else threshold


def validate_skills(field_name: str, skills: Sequence[str], *, required: bool) -> list[str]:
    """Checks a skill list (count, empty or over-long entries) and returns the entries stripped."""
    if required and not skills:
        raise InvalidArgument.for_field(field_name, "must name at least one skill")
    if len(skills) > MAX_SKILLS:
        raise InvalidArgument.for_field(field_name, f"at most {MAX_SKILLS} skills, got {len(skills)}")
    violations: list[FieldViolation] = []
    for i, skill in enumerate(skills):
        stripped = skill.strip()
        if not stripped:
            violations.append(FieldViolation(f"{field_name}[{i}]", "must not be empty"))
        elif len(stripped) > MAX_SKILL_CHARS:
            violations.append(
                FieldViolation(f"{field_name}[{i}]", f"at most {MAX_SKILL_CHARS} characters, got {len(stripped)}")
            )
    if violations:
        raise InvalidArgument(f"{len(violations)} bad skill name(s) in {field_name}", violations)
    return [s.strip() for s in skills]


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


def _distinct(skills: Sequence[str], key: CanonicalFn) -> list[tuple[str, str]]:
    """(key, skill as given) pairs, first spelling of each key kept, order kept."""
    seen: dict[str, str] = {}
    for skill in skills:
        seen.setdefault(key(skill), skill)
    return list(seen.items())


async def compare_skills(
    resume_skills: Sequence[str],
    job_skills: Sequence[str],
    threshold: float,
    *,
    embed: EmbedFn,
    default_threshold: float,
    canonical: CanonicalFn | None = None,
) -> Comparison:
    """Matches every job skill with its closest resume skill; see the module docstring for the scoring."""
    limit = resolve_threshold(threshold, default_threshold)
    resume = validate_skills("resume_skills", resume_skills, required=False)
    job = validate_skills("job_skills", job_skills, required=True)

    def key(skill: str) -> str:
        return normalise_text(canonical(skill) if canonical else skill)

    resume_items = _distinct(resume, key)
    job_items = _distinct(job, key)
    resume_by_key = dict(resume_items)

    best: dict[str, SkillMatch] = {}
    to_embed: list[tuple[str, str]] = []
    for job_key, job_skill in job_items:
        if job_key in resume_by_key:
            best[job_key] = SkillMatch(job_skill, resume_by_key[job_key], 1.0)
        elif not resume_items:
            best[job_key] = SkillMatch(job_skill, "", 0.0)
        else:
            to_embed.append((job_key, job_skill))

    if to_embed:
        # The canonical names go to the model: "k8s" is embedded as "Kubernetes" when the taxonomy knows it.
        job_texts = [canonical(s) if canonical else s for _, s in to_embed]
        resume_texts = [canonical(s) if canonical else s for _, s in resume_items]
        vectors = await embed([*job_texts, *resume_texts])
        job_vectors, resume_vectors = vectors[: len(job_texts)], vectors[len(job_texts) :]
        similarity = job_vectors @ resume_vectors.T
        best_index = np.argmax(similarity, axis=1)
        for row, (job_key, job_skill) in enumerate(to_embed):
            column = int(best_index[row])
            score = min(1.0, max(0.0, float(similarity[row, column])))
            best[job_key] = SkillMatch(job_skill, resume_items[column][1], score)

    best_matches = [best[job_key] for job_key, _ in job_items]
    matches = [m for m in best_matches if m.resume_skill and m.score >= limit]
    matched = {m.job_skill for m in matches}
    missing = [m.job_skill for m in best_matches if m.job_skill not in matched]
    overall = sum(m.score for m in matches) / len(best_matches)
    return Comparison(
        matches=matches,
        missing_skills=missing,
        overall_score=overall,
        best_matches=best_matches,
        threshold=limit,
    )
