"""Calibrates guided coverage (job skills found in the resume's sentences) on the evaluation's dev split.

    python -m tests.similarity.calibrate_text [--json PATH] [--verbose]

Starts the real NER and similarity services in this process with the passage cut-off at FLOOR, reads every pair
as an analysis does (the resume read for the job, the NER stage's details), and asks CompareSkills twice per pair
at the default strictness: without the resume's text and with it. A job skill missing in the first answer and
covered in the second was found in a passage, with that passage's cosine; at cut-off c it leaves the gap when
its cosine reaches c. For each c on a grid this prints the missing-skill precision / recall / F1 exactly as
`make eval` scores it (tests/eval/scoring.py), the coverage accuracy (the predicted job skills that are gold job
skills, judged covered or missing as the gold says), and the decisions themselves: gold-covered skills the
passages find (right), gold gaps they hide (wrong), and job skills the gold does not list.

`Settings.similarity_text_calibrated_threshold` holds the highest cut-off whose missing-skill F1 lies within
TIE_BAND of the best: on 32 pairs such a difference is two or three decisions, and a passage match hides a gap
from the user, so among values the dev split cannot tell apart the most cautious one wins. Never run it on the
test split to choose a value.
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
from tests.eval.dataset import EvalPair, load_split
from tests.eval.scoring import Counts, match_skills, matches_any
from tests.similarity.calibration_services import running_services

# The cut-off the services run with while reading: below every grid value, so each decision comes back.
FLOOR = 0.30
GRID = tuple(round(0.40 + 0.025 * i, 3) for i in range(19))  # 0.400 ... 0.850
TIE_BAND = 0.01


@dataclass(frozen=True)
class JobSkillOutcome:
    """One predicted job skill: missing without the text or not, its passage's cosine, and the gold view."""

    name: str
    missing_without_text: bool
    cosine: float  # the passage's cosine; 0.0 when no passage counts for it
    passage: str
    gold_job_skill: bool  # it hits a gold job skill
    gold_covered: bool  # ... which the gold labels say the resume shows


@dataclass(frozen=True)
class PairReading:
    pair: EvalPair
    skills: list[JobSkillOutcome]

    def gap_at(self, cut: float) -> list[str]:
        return [s.name for s in self.skills if s.missing_without_text and s.cosine < cut]


async def read_pairs(pairs: Sequence[EvalPair], settings: Settings) -> list[PairReading]:
    """Runs the resume read for the job and CompareSkills with and without the resume's text over every pair."""
    readings = []
    async with running_services(settings) as stubs:
        for pair in pairs:
            resume, job = await stubs.skills(pair, read_for_job=True)
            outcomes = []
            if job:
                request = similarity_service_pb2.CompareSkillsRequest(
                    resume_skill_details=skill_details(resume), job_skill_details=skill_details(job)
                )
                without = await stubs.similarity.CompareSkills(request)
                request.resume_text = pair.resume
                with_text = await stubs.similarity.CompareSkills(request)
                for before, after in zip(without.best_matches, with_text.best_matches, strict=True):
                    missing = before.kind == course_pb2.MATCH_KIND_MISSING
                    by_text = missing and after.kind == course_pb2.MATCH_KIND_SEMANTIC
                    is_gold = matches_any(before.job_skill, pair.job_skills)
                    outcomes.append(
                        JobSkillOutcome(
                            name=before.job_skill,
                            missing_without_text=missing,
                            cosine=after.score if by_text else 0.0,
                            passage=after.evidence if by_text else "",
                            gold_job_skill=is_gold,
                            gold_covered=is_gold and not matches_any(before.job_skill, pair.missing_skills),
                        )
                    )
            readings.append(PairReading(pair, outcomes))
    return readings


@dataclass(frozen=True)
class CurvePoint:
    cut: float
    gap: Counts
    accuracy: float  # predicted job skills that are gold job skills, judged covered / missing as the gold says
    covered_found: int  # gold-covered skills missing without the text that a passage covers (right)
    covered_total: int
    gaps_hidden: int  # gold gaps that a passage covers (wrong)
    gaps_total: int
    extras_covered: int  # predicted job skills the gold does not list, covered by a passage
    extras_total: int


def point_at(readings: Sequence[PairReading], cut: float) -> CurvePoint:
    """The figures at one cut-off (above 1.0: guided coverage off)."""
    judged = [s for r in readings for s in r.skills if s.gold_job_skill]
    decided = [s for r in readings for s in r.skills if s.missing_without_text]
    gap = Counts()
    for reading in readings:
        gap += match_skills(reading.gap_at(cut), reading.pair.missing_skills).counts
    right = sum((not s.missing_without_text or s.cosine >= cut) == s.gold_covered for s in judged)
    covered = [s for s in decided if s.gold_covered]
    gaps = [s for s in decided if s.gold_job_skill and not s.gold_covered]
    extras = [s for s in decided if not s.gold_job_skill]
    return CurvePoint(
        cut,
        gap,
        accuracy=right / len(judged) if judged else 1.0,
        covered_found=sum(s.cosine >= cut for s in covered),
        covered_total=len(covered),
        gaps_hidden=sum(s.cosine >= cut for s in gaps),
        gaps_total=len(gaps),
        extras_covered=sum(s.cosine >= cut for s in extras),
        extras_total=len(extras),
    )


def curve(readings: Sequence[PairReading]) -> list[CurvePoint]:
    return [point_at(readings, cut) for cut in GRID]


def best_point(points: Sequence[CurvePoint]) -> CurvePoint:
    """The highest cut-off whose missing-skill F1 is within TIE_BAND of the best (see the module docstring)."""
    best_f1 = max(p.gap.f1 for p in points)
    return max((p for p in points if p.gap.f1 >= best_f1 - TIE_BAND), key=lambda p: p.cut)


def format_curve(points: Sequence[CurvePoint], off: CurvePoint, split: str, pairs: int) -> str:
    best = best_point(points)
    lines = [
        f"Guided coverage: missing skills over the passage cut-off (split {split}, {pairs} pairs).",
        f"Without it: P {off.gap.precision:.3f} R {off.gap.recall:.3f} F1 {off.gap.f1:.3f},"
        f" accuracy {off.accuracy:.3f}.",
        "'accuracy': predicted job skills that are gold job skills, judged covered / missing as the gold says;",
        "'covered found': gold-covered skills a passage covers (right); 'gaps hidden': gold gaps it covers (wrong);",
        "'extras': predicted job skills the gold does not list, taken off the gap.",
        f"  {'cut':>5}  {'P':>6} {'R':>6} {'F1':>6} {'tp':>4} {'fp':>4} {'fn':>4}  {'accuracy':>8}"
        f"  {'covered found':>13}  {'gaps hidden':>11}  {'extras':>8}",
    ]
    for p in points:
        mark = "  <- best F1" if p is best else ""
        lines.append(
            f"  {p.cut:5.3f}  {p.gap.precision:6.3f} {p.gap.recall:6.3f} {p.gap.f1:6.3f} {p.gap.tp:>4} {p.gap.fp:>4}"
            f" {p.gap.fn:>4}  {p.accuracy:8.3f}  {p.covered_found:>5} of {p.covered_total:<4}"
            f"  {p.gaps_hidden:>4} of {p.gaps_total:<4}  {p.extras_covered:>3} of {p.extras_total:<3}{mark}"
        )
    return "\n".join(lines)


def format_decisions(readings: Sequence[PairReading]) -> str:
    """Every job skill a passage covers at FLOOR, highest cosine first, with the gold view."""
    rows = [(s.cosine, r.pair.id, s) for r in readings for s in r.skills if s.cosine > 0.0]
    lines = ["Passages that cover a job skill (gold: covered / missing / not a gold job skill):"]
    for cosine, pair_id, s in sorted(rows, key=lambda row: -row[0]):
        gold = "covered" if s.gold_covered else "missing" if s.gold_job_skill else "-"
        lines.append(f"  {cosine:6.3f}  {gold:<8} {pair_id:<28} {s.name} <- {s.passage}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("dev",), default="dev", help="the split to calibrate on (dev only)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the curve to this JSON file")
    parser.add_argument("--verbose", action="store_true", help="list every passage that covers a job skill")
    args = parser.parse_args(argv)
    settings = Settings.from_env(
        log_json=False,
        log_level="WARNING",
        similarity_metrics_port=0,
        ner_metrics_port=0,
        similarity_text_calibrated_threshold=FLOOR,
    )
    pairs = load_split(args.split)
    readings = asyncio.run(read_pairs(pairs, settings))
    points = curve(readings)
    off = point_at(readings, 2.0)
    if args.verbose:
        sys.stdout.write(format_decisions(readings) + "\n\n")
    sys.stdout.write(format_curve(points, off, args.split, len(pairs)) + "\n")
    best = best_point(points)
    sys.stdout.write(f"\nbest missing-skill F1 {best.gap.f1:.3f} at cut-off {best.cut:g}\n")
    if args.json:
        rows = [
            {"cut": p.cut, **p.gap.as_dict(), "accuracy": p.accuracy, "covered_found": p.covered_found,
             "covered_total": p.covered_total, "gaps_hidden": p.gaps_hidden, "gaps_total": p.gaps_total,
             "extras_covered": p.extras_covered, "extras_total": p.extras_total}
            for p in points
        ]  # fmt: skip
        args.json.write_text(json.dumps({"split": args.split, "best": best.cut, "curve": rows}, indent=2) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
