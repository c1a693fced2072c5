"""`make eval`: how right the skill-gap analysis is on the labelled resume / job-ad pairs of tests/data/eval.

Starts the real stack in this process (the four stage services and a scheduler on a temporary SQLite file),
submits every pair of the split as a COURSE_RECOMMENDATION job over gRPC and scores each result against the
gold labels: precision / recall / F1 of the job skills (`job_skills`) and of the missing skills (`skill_gap`),
overall, per group and per field; the share of recommended courses that teach a gold missing skill and the
share that teach something the resume already shows. Scoring rules: tests/eval/scoring.py, data/README.md.

    python -m tests.eval.skill_eval [--split dev|test|holdout|all] [--verbose] [--sweep] [--json PATH] [--threshold T]

Tune on dev only; the test split is for the figures that CI holds (tests/eval/test_skill_eval.py); the holdout split
(pairs written after the system) is run once a round, to see how the system does on pairs nobody tuned for.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.eval.dataset import SPLITS, EvalPair, load_split
from tests.eval.figures import PairScore, Summaries, Summary, gap_counts, score_pair, summarise
from tests.eval.runner import EvalStack, running_stack
from tests.eval.scoring import Counts

SWEEP_THRESHOLDS = tuple(round(0.30 + 0.05 * i, 2) for i in range(14))  # 0.30 ... 0.95


@dataclass(frozen=True)
class EvalReport:
    """The figures of one run over a split."""

    split: str
    threshold: float | None
    scores: list[PairScore]
    summaries: Summaries
    sweep: list[tuple[float, Counts]]

    @property
    def overall(self) -> Summary:
        return self.summaries.overall

    def failures(self) -> dict[str, str]:
        return {s.pair.id: s.outcome.error for s in self.scores if s.outcome.error}


async def evaluate(
    pairs: Sequence[EvalPair],
    *,
    split: str,
    threshold: float | None = None,
    sweep: bool = False,
    stack: EvalStack | None = None,
) -> EvalReport:
    """Runs the pairs through the stack (a fresh one unless given) and scores them. With `sweep`, the pairs are
    run again at each of SWEEP_THRESHOLDS for the missing-skill precision / recall curve."""
    if stack is None:
        async with running_stack() as fresh:
            return await evaluate(pairs, split=split, threshold=threshold, sweep=sweep, stack=fresh)
    outcomes = await stack.run(pairs, threshold)
    scores = [score_pair(pair, outcome) for pair, outcome in zip(pairs, outcomes, strict=True)]
    curve = []
    if sweep:
        for value in SWEEP_THRESHOLDS:
            curve.append((value, gap_counts(pairs, await stack.run(pairs, value))))
    return EvalReport(split, threshold, scores, summarise(scores), curve)


def _row(name: str, summary: Summary) -> str:
    j, g, c = summary.job, summary.gap, summary.courses
    shares = f"{c.gap_share:7.3f} {c.known_share:7.3f}" if c.courses else f"{'-':>7} {'-':>7}"
    return (
        f"  {name:<26}{summary.pairs:>5}  {j.precision:6.3f} {j.recall:6.3f} {j.f1:6.3f}"
        f"   {g.precision:6.3f} {g.recall:6.3f} {g.f1:6.3f}   {c.courses:>7} {shares}"
    )


def format_report(report: EvalReport) -> str:
    """The table `make eval` prints: one row overall, per group and per field."""
    threshold = "service default" if report.threshold is None else f"{report.threshold:g}"
    lines = [
        f"Skill-gap evaluation: split {report.split}, {report.overall.pairs} pairs, threshold {threshold}"
        " (micro-averaged; names normalised, gold aka accepted)",
        f"  {'':<26}{'':>5}  {'job skills':^20}   {'missing skills':^20}   {'recommended courses':^23}",
        f"  {'scope':<26}{'pairs':>5}  {'P':>6} {'R':>6} {'F1':>6}   {'P':>6} {'R':>6} {'F1':>6}"
        f"   {'courses':>7} {'on-gap':>7} {'known':>7}",
    ]
    rows = report.summaries.rows()
    for i, (name, summary) in enumerate(rows):
        lines.append(_row(name, summary))
        if i == 0 or i == len(report.summaries.groups):
            lines.append("")
    lines.append(
        "  on-gap: share of courses teaching a gold missing skill; known: share teaching what the resume shows"
    )
    overall = report.overall
    if overall.required_checked:
        lines.append(
            f"  required / nice-to-have flag agrees with the label on {overall.required_agreed} of"
            f" {overall.required_checked} found job skills ({overall.required_agreed / overall.required_checked:.3f})"
        )
    for pair_id, error in report.failures().items():
        lines.append(f"  FAILED {pair_id}: {error}")
    return "\n".join(lines)


def format_sweep(report: EvalReport) -> str:
    lines = [f"Missing-skill precision / recall over the job's threshold (split {report.split}):"]
    lines.append(f"  {'threshold':>9}  {'P':>6} {'R':>6} {'F1':>6} {'tp':>5} {'fp':>5} {'fn':>5}")
    best = max(report.sweep, key=lambda row: row[1].f1)[0] if report.sweep else None
    for value, c in report.sweep:
        mark = "  <- best F1" if value == best else ""
        lines.append(
            f"  {value:>9.2f}  {c.precision:6.3f} {c.recall:6.3f} {c.f1:6.3f} {c.tp:>5} {c.fp:>5} {c.fn:>5}{mark}"
        )
    return "\n".join(lines)


def format_pair_errors(report: EvalReport) -> str:
    """Per pair: gold skills missed, predictions that hit nothing, and courses off the gap or redundant."""
    lines = []
    for s in report.scores:
        lines.append(
            f"{s.pair.id} [{s.pair.field}] {s.pair.title}: job F1 {s.job.counts.f1:.2f}, gap F1 {s.gap.counts.f1:.2f}"
        )
        parts = (
            ("job skills missed", s.job.misses),
            ("job skills extra", s.job.extras),
            ("gap missed", s.gap.misses),
            ("gap extra", s.gap.extras),
            ("courses off the gap", s.off_gap_courses),
            ("courses teaching known skills", s.redundant_courses),
        )
        lines.extend(f"    {label}: {', '.join(names)}" for label, names in parts if names)
        if s.outcome.error:
            lines.append(f"    FAILED: {s.outcome.error}")
    return "\n".join(lines)


def report_json(report: EvalReport) -> dict[str, Any]:
    """Every figure of the run, for --json."""
    return {
        "split": report.split,
        "threshold": report.threshold,
        **report.summaries.as_dict(),
        "sweep": [{"threshold": value, **counts.as_dict()} for value, counts in report.sweep],
        "pairs": {
            s.pair.id: {
                "field": s.pair.field,
                "job_skills": s.job.counts.as_dict(),
                "missing_skills": s.gap.counts.as_dict(),
                "courses": s.courses.as_dict(),
                "job_skills_missed": s.job.misses,
                "job_skills_extra": s.job.extras,
                "gap_missed": s.gap.misses,
                "gap_extra": s.gap.extras,
                "error": s.outcome.error,
            }
            for s in report.scores
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="dev", help="which pairs (default dev)")
    parser.add_argument("--verbose", action="store_true", help="print each pair's misses and extras")
    parser.add_argument("--sweep", action="store_true", help="missing-skill P/R over thresholds 0.30 ... 0.95")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every figure to this JSON file")
    parser.add_argument("--threshold", type=float, default=None, help="the job's threshold (default: the service's)")
    args = parser.parse_args(argv)
    pairs = load_split(args.split)
    if not pairs:
        print(f"no pairs in split {args.split}", file=sys.stderr)
        return 2
    report = asyncio.run(evaluate(pairs, split=args.split, threshold=args.threshold, sweep=args.sweep))
    if args.verbose:
        print(format_pair_errors(report), end="\n\n")
    print(format_report(report))
    if args.sweep:
        print("\n" + format_sweep(report))
    if args.json:
        args.json.write_text(json.dumps(report_json(report), indent=2) + "\n", encoding="utf-8")
        print(f"\nfigures written to {args.json}")
    return 1 if report.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
