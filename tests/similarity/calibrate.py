"""Calibrates the similarity service's semantic-match threshold on the evaluation's dev split.

    python -m tests.similarity.calibrate [--split dev] [--json PATH]

Starts the real NER and similarity services in this process, reads every pair of the split (the NER stage's
skills with ids, required flags and evidence), and asks CompareSkills once per pair at strictness 1.0, where
only exact, alias and related matches count, so each remaining job skill comes back with its closest resume
skill's cosine. A job skill is then reported missing at cosine c when it has no such match and its cosine is
below c. For each c on a grid this prints the missing-skill precision / recall / F1 exactly as `make eval`
scores it (tests/eval/scoring.py), and the decisions the threshold really takes: job skills that hit a gold
job skill and need the embedding, split by whether the gold labels say the resume covers them.

The cosine with the best missing-skill F1 (to three decimals) is what `Settings.similarity_calibrated_threshold`
holds (strictness 0.5). Where several cosines tie, the lowest of them wins: above it the dev split sees no
difference, so it is the most lenient value the data supports, and near-identical names the vocabulary does
not know ("Sales Enablement" and "Sales Enablement Tools") still match. The grid stops below 1.0, which would
switch the embedding off altogether. Never run it on the test split to choose a value.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from skillbridge.common.v1 import course_pb2
from skillbridge.similarity.v1 import similarity_service_pb2

from services.common.settings import Settings
from services.scheduler.handlers import skill_details
from services.similarity.calibration import strictness_for
from tests.eval.dataset import EvalPair, load_split
from tests.eval.scoring import Counts, match_skills, matches_any
from tests.similarity.calibration_services import running_services

# What a vocabulary match is: such a job skill needs no embedding.
COVERED_KINDS = {course_pb2.MATCH_KIND_EXACT, course_pb2.MATCH_KIND_ALIAS, course_pb2.MATCH_KIND_RELATED}
GRID = tuple(round(0.40 + 0.025 * i, 3) for i in range(24))  # 0.400 ... 0.975


@dataclass(frozen=True)
class JobSkillOutcome:
    """One predicted job skill: its name, whether it needs the embedding, its cosine, and the gold view."""

    name: str
    closest: str  # the closest resume skill
    needs_embedding: bool
    cosine: float
    gold_job_skill: bool  # it hits a gold job skill
    gold_covered: bool  # ... which the gold labels say the resume shows


@dataclass(frozen=True)
class PairReading:
    pair: EvalPair
    skills: list[JobSkillOutcome]

    def gap_at(self, cosine: float) -> list[str]:
        return [s.name for s in self.skills if s.needs_embedding and s.cosine < cosine]


async def read_pairs(pairs: Sequence[EvalPair], settings: Settings) -> list[PairReading]:
    """Runs NER and CompareSkills (strictness 1.0) over every pair through the real services."""
    readings = []
    async with running_services(settings) as stubs:
        for pair in pairs:
            resume, job = await stubs.skills(pair)
            outcomes = []
            if job:
                compared = await stubs.similarity.CompareSkills(
                    similarity_service_pb2.CompareSkillsRequest(
                        threshold=1.0, resume_skill_details=skill_details(resume), job_skill_details=skill_details(job)
                    )
                )
                for match in compared.best_matches:
                    is_gold = matches_any(match.job_skill, pair.job_skills)
                    outcomes.append(
                        JobSkillOutcome(
                            name=match.job_skill,
                            closest=match.resume_skill,
                            needs_embedding=match.kind not in COVERED_KINDS,
                            cosine=match.score if match.resume_skill else 0.0,
                            gold_job_skill=is_gold,
                            gold_covered=is_gold and not matches_any(match.job_skill, pair.missing_skills),
                        )
                    )
            readings.append(PairReading(pair, outcomes))
    return readings


@dataclass(frozen=True)
class CurvePoint:
    cosine: float
    gap: Counts
    # Among gold job skills that need the embedding: covered ones matched (right) or not, gaps matched (wrong).
    covered_matched: int
    covered_total: int
    gaps_matched: int
    gaps_total: int


def curve(readings: Sequence[PairReading]) -> list[CurvePoint]:
    points = []
    for cosine in GRID:
        gap = Counts()
        for reading in readings:
            gap += match_skills(reading.gap_at(cosine), reading.pair.missing_skills).counts
        decided = [s for r in readings for s in r.skills if s.needs_embedding and s.gold_job_skill]
        covered = [s for s in decided if s.gold_covered]
        gaps = [s for s in decided if not s.gold_covered]
        points.append(
            CurvePoint(
                cosine,
                gap,
                covered_matched=sum(s.cosine >= cosine for s in covered),
                covered_total=len(covered),
                gaps_matched=sum(s.cosine >= cosine for s in gaps),
                gaps_total=len(gaps),
            )
        )
    return points


def best_point(points: Sequence[CurvePoint]) -> CurvePoint:
    """Best missing-skill F1 to three decimals; on a tie the lower cosine (see the module docstring)."""
    return max(points, key=lambda p: (round(p.gap.f1, 3), -p.cosine))


def format_curve(points: Sequence[CurvePoint], split: str, pairs: int, calibrated: float) -> str:
    best = best_point(points)
    lines = [
        f"Missing-skill precision / recall over the semantic-match cosine (split {split}, {pairs} pairs);",
        f"'strictness' is the caller's 0-1 threshold that asks for this cosine with the calibrated {calibrated:g}.",
        "'covered matched': gold-covered job skills the embedding matches (higher is better);",
        "'gaps matched': gold-missing job skills the embedding wrongly matches (lower is better).",
        f"  {'cosine':>6} {'strict':>6}  {'P':>6} {'R':>6} {'F1':>6} {'tp':>4} {'fp':>4} {'fn':>4}"
        f"  {'covered matched':>15}  {'gaps matched':>12}",
    ]
    for p in points:
        mark = "  <- best F1" if p is best else ""
        lines.append(
            f"  {p.cosine:>6.3f} {strictness_for(p.cosine, calibrated):>6.3f}  {p.gap.precision:6.3f}"
            f" {p.gap.recall:6.3f} {p.gap.f1:6.3f} {p.gap.tp:>4} {p.gap.fp:>4} {p.gap.fn:>4}"
            f"  {p.covered_matched:>7} of {p.covered_total:<5}  {p.gaps_matched:>4} of {p.gaps_total:<5}{mark}"
        )
    return "\n".join(lines)


def format_decisions(readings: Sequence[PairReading]) -> str:
    """Every job skill the embedding decides, highest cosine first, with the gold view."""
    rows = [(s.cosine, r.pair.id, s) for r in readings for s in r.skills if s.needs_embedding and s.closest]
    lines = ["Decisions the embedding takes (gold: covered / missing / not a gold job skill):"]
    for cosine, pair_id, s in sorted(rows, key=lambda row: -row[0]):
        gold = "covered" if s.gold_covered else "missing" if s.gold_job_skill else "-"
        lines.append(f"  {cosine:6.3f}  {gold:<8} {pair_id:<28} {s.name} <- {s.closest}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("dev",), default="dev", help="the split to calibrate on (dev only)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the curve to this JSON file")
    parser.add_argument("--verbose", action="store_true", help="list every decision the embedding takes")
    args = parser.parse_args(argv)
    settings = Settings.from_env(log_json=False, log_level="WARNING", similarity_metrics_port=0, ner_metrics_port=0)
    pairs = load_split(args.split)
    readings = asyncio.run(read_pairs(pairs, settings))
    points = curve(readings)
    if args.verbose:
        sys.stdout.write(format_decisions(readings) + "\n\n")
    sys.stdout.write(format_curve(points, args.split, len(pairs), settings.similarity_calibrated_threshold) + "\n")
    best = best_point(points)
    sys.stdout.write(f"\nbest missing-skill F1 {best.gap.f1:.3f} at cosine {best.cosine:g}\n")
    if args.json:
        rows = [
            {"cosine": p.cosine, **p.gap.as_dict(), "covered_matched": p.covered_matched,
             "covered_total": p.covered_total, "gaps_matched": p.gaps_matched, "gaps_total": p.gaps_total}
            for p in points
        ]  # fmt: skip
        args.json.write_text(json.dumps({"split": args.split, "best": best.cosine, "curve": rows}, indent=2) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
