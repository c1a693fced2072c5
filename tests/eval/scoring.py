"""Scoring predicted skill names against the gold labels of the evaluation set.

Names are compared after `normalise()`; a prediction hits a gold skill when its normal form equals the
normal form of the gold name or of one of its aka. Each gold skill is hit at most once (a maximum matching,
so a prediction that fits two gold skills never starves the other), and predictions that normalise to the
same form count once. Figures are micro-averaged: true positives, false positives and false negatives are
summed over pairs before precision, recall and F1 are computed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tests.eval.dataset import GoldSkill

_PUNCTUATION = re.compile(r"[^\w\s+#]|_")


def normalise(name: str) -> str:
    """Lower case, "&" read as "and", punctuation other than "+" and "#" removed, a trailing plural "s" dropped
    from each word of four letters or more ("REST APIs" == "rest api"), and the words joined without spaces: where
    a name breaks its words is spelling, not meaning ("Vendor-Managed Inventory" == "Vendor Managed Inventory",
    "e-commerce" == "ecommerce"), as "CI/CD" == "CICD" already was."""
    text = _PUNCTUATION.sub("", name.lower().replace("&", " and "))
    return "".join(word[:-1] if len(word) >= 4 and word.endswith("s") else word for word in text.split())


@dataclass
class Counts:
    """True positives, false positives and false negatives, summed over pairs."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        """1.0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """1.0 when there was nothing to find."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


@dataclass
class SkillMatch:
    """How one list of predicted names compares with the gold skills."""

    counts: Counts
    hits: dict[str, str] = field(default_factory=dict)  # gold name -> the prediction that hit it
    extras: list[str] = field(default_factory=list)  # predictions that hit nothing
    misses: list[str] = field(default_factory=list)  # gold names nothing hit


def _forms(skill: GoldSkill) -> set[str]:
    return {normalise(form) for form in skill.forms}


def matches_any(name: str, gold: Iterable[GoldSkill]) -> bool:
    """True when `name` is one of the written forms of any of the gold skills."""
    key = normalise(name)
    return any(key in _forms(skill) for skill in gold)


def maximum_matching(fits: Sequence[Sequence[int]]) -> dict[int, int]:
    """A maximum one-to-one matching of predictions to gold skills, by augmenting paths: `fits[p]` lists the gold
    indexes prediction p may hit. Returns gold index -> prediction index."""
    owner: dict[int, int] = {}

    def assign(p: int, seen: set[int]) -> bool:
        for g in fits[p]:
            if g not in seen:
                seen.add(g)
                if g not in owner or assign(owner[g], seen):
                    owner[g] = p
                    return True
        return False

    for p in range(len(fits)):
        assign(p, set())
    return owner


def match_skills(predicted: Iterable[str], gold: Sequence[GoldSkill]) -> SkillMatch:
    """Scores predicted names against gold skills with a maximum one-to-one matching."""
    unique: dict[str, str] = {}
    for name in predicted:
        unique.setdefault(normalise(name), name)
    keys = list(unique)
    gold_forms = [_forms(skill) for skill in gold]
    owner = maximum_matching([[g for g, forms in enumerate(gold_forms) if key in forms] for key in keys])
    hit_predictions = set(owner.values())
    return SkillMatch(
        counts=Counts(tp=len(owner), fp=len(keys) - len(owner), fn=len(gold) - len(owner)),
        hits={gold[g].name: unique[keys[p]] for g, p in owner.items()},
        extras=[unique[keys[p]] for p in range(len(keys)) if p not in hit_predictions],
        misses=[skill.name for g, skill in enumerate(gold) if g not in owner],
    )


@dataclass
class CourseCounts:
    """Recommended courses: how many, how many teach a gold missing skill, how many teach what the resume shows."""

    courses: int = 0
    cover_gap: int = 0
    teach_known: int = 0

    def __add__(self, other: CourseCounts) -> CourseCounts:
        return CourseCounts(
            self.courses + other.courses, self.cover_gap + other.cover_gap, self.teach_known + other.teach_known
        )

    @property
    def gap_share(self) -> float:
        """Share of recommended courses that teach a gold missing skill (1.0 when none was recommended)."""
        return self.cover_gap / self.courses if self.courses else 1.0

    @property
    def known_share(self) -> float:
        """Share of recommended courses that teach something the resume already shows (0.0 when none)."""
        return self.teach_known / self.courses if self.courses else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "courses": self.courses,
            "cover_gold_gap": self.cover_gap,
            "cover_gold_gap_share": self.gap_share,
            "teach_known": self.teach_known,
            "teach_known_share": self.known_share,
        }


@dataclass(frozen=True)
class RecommendedCourse:
    """What the evaluation reads of one recommended course."""

    title: str
    covered_skills: tuple[str, ...]
    skills: tuple[str, ...]


def score_courses(
    courses: Sequence[RecommendedCourse], missing: Sequence[GoldSkill], known: Sequence[GoldSkill]
) -> tuple[CourseCounts, list[str], list[str]]:
    """Counts courses that teach a gold missing skill (by `covered_skills` or `skills`), and courses whose
    `covered_skills` teach a skill the resume already shows (`known`: the gold resume skills and the job skills
    labelled as covered). Returns the counts and the titles of off-gap and redundant courses."""
    counts = CourseCounts(courses=len(courses))
    off_gap, redundant = [], []
    for course in courses:
        if any(matches_any(name, missing) for name in (*course.covered_skills, *course.skills)):
            counts.cover_gap += 1
        else:
            off_gap.append(course.title)
        if any(matches_any(name, known) for name in course.covered_skills):
            counts.teach_known += 1
            redundant.append(course.title)
    return counts, off_gap, redundant


@dataclass(frozen=True)
class PairOutcome:
    """What the stack answered for one pair; `error` is set (and the rest empty) when the job did not succeed."""

    pair_id: str
    job_skills: tuple[str, ...] = ()
    user_skills: tuple[str, ...] = ()
    skill_gap: tuple[str, ...] = ()
    courses: tuple[RecommendedCourse, ...] = ()
    # Job skill name -> required, from matching_details.job_skill_matches (empty when the stack does not say).
    required: dict[str, bool] = field(default_factory=dict)
    error: str = ""
