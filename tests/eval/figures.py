"""The figures of one evaluation run: each pair scored against its gold labels, then summed per field, per
group ("software", "outside software") and overall."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tests.eval.dataset import EvalPair
from tests.eval.scoring import Counts, CourseCounts, PairOutcome, SkillMatch, match_skills, score_courses

OVERALL = "all"


@dataclass(frozen=True)
class PairScore:
    """One pair's outcome against its labels."""

    pair: EvalPair
    outcome: PairOutcome
    job: SkillMatch
    gap: SkillMatch
    courses: CourseCounts
    off_gap_courses: list[str]
    redundant_courses: list[str]
    # Found job skills whose required / nice-to-have flag the stack reported, and how many agree with the label.
    required_checked: int
    required_agreed: int


@dataclass
class Summary:
    """Figures summed over a set of pairs."""

    pairs: int = 0
    failed: int = 0
    job: Counts = field(default_factory=Counts)
    gap: Counts = field(default_factory=Counts)
    courses: CourseCounts = field(default_factory=CourseCounts)
    required_checked: int = 0
    required_agreed: int = 0

    def add(self, score: PairScore) -> None:
        self.pairs += 1
        self.failed += bool(score.outcome.error)
        self.job += score.job.counts
        self.gap += score.gap.counts
        self.courses += score.courses
        self.required_checked += score.required_checked
        self.required_agreed += score.required_agreed

    def as_dict(self) -> dict[str, object]:
        figures: dict[str, object] = {
            "pairs": self.pairs,
            "failed": self.failed,
            "job_skills": self.job.as_dict(),
            "missing_skills": self.gap.as_dict(),
            "courses": self.courses.as_dict(),
        }
        if self.required_checked:
            figures["required_agreement"] = round(self.required_agreed / self.required_checked, 4)
        return figures


def score_pair(pair: EvalPair, outcome: PairOutcome) -> PairScore:
    """Scores the stack's answer for one pair. A failed job predicts nothing, so every gold skill is a miss."""
    job = match_skills(outcome.job_skills, pair.job_skills)
    gap = match_skills(outcome.skill_gap, pair.missing_skills)
    known = (*pair.resume_skills, *pair.covered_skills)
    courses, off_gap, redundant = score_courses(outcome.courses, pair.missing_skills, known)
    gold_required = {skill.name: skill.required for skill in pair.job_skills}
    checked = agreed = 0
    for gold_name, predicted in job.hits.items():
        if predicted in outcome.required:
            checked += 1
            agreed += outcome.required[predicted] == gold_required[gold_name]
    return PairScore(pair, outcome, job, gap, courses, off_gap, redundant, checked, agreed)


@dataclass
class Summaries:
    """Figures overall, per group ("software", "outside software") and per field, in the order pairs came."""

    overall: Summary = field(default_factory=Summary)
    groups: dict[str, Summary] = field(default_factory=dict)
    fields: dict[str, Summary] = field(default_factory=dict)

    def rows(self) -> list[tuple[str, Summary]]:
        """(label, summary) for a table: overall, then the groups, then the fields."""
        return [
            (OVERALL, self.overall),
            *((f"group: {name}", s) for name, s in self.groups.items()),
            *((name, s) for name, s in self.fields.items()),
        ]

    def as_dict(self) -> dict[str, object]:
        return {
            "overall": self.overall.as_dict(),
            "groups": {name: s.as_dict() for name, s in self.groups.items()},
            "fields": {name: s.as_dict() for name, s in self.fields.items()},
        }


def summarise(scores: Sequence[PairScore]) -> Summaries:
    """Sums pair scores overall, per group and per field."""
    summaries = Summaries()
    for score in scores:
        summaries.overall.add(score)
        summaries.groups.setdefault(score.pair.group, Summary()).add(score)
        summaries.fields.setdefault(score.pair.field, Summary()).add(score)
    return summaries


def gap_counts(pairs: Sequence[EvalPair], outcomes: Sequence[PairOutcome]) -> Counts:
    """Missing-skill counts over pairs (for the threshold sweep)."""
    total = Counts()
    for pair, outcome in zip(pairs, outcomes, strict=True):
        total += match_skills(outcome.skill_gap, pair.missing_skills).counts
    return total
