"""`make eval`: precision, recall and F1 of skill extraction and of the skill gap on tests/data/eval.

Runs the real NER and similarity services (over gRPC, in this process): job skills come from ExtractSkills,
the gap from CompareSkills at the default threshold - exactly what a job's SIMILARITY_ANALYSIS stage reports.

    python -m tests.eval.skill_eval [--threshold 0.5] [--verbose]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from collections.abc import Sequence

import grpc
from skillbridge.ner.v1 import ner_service_pb2, ner_service_pb2_grpc
from skillbridge.similarity.v1 import similarity_service_pb2, similarity_service_pb2_grpc

from services.common.settings import REPO_ROOT, Settings
from services.ner import server as ner_server
from services.ner.evaluation import EvalPair, Scores, load_eval_set, precision_recall_f1
from services.similarity import server as similarity_server

EVAL_SET = REPO_ROOT / "tests" / "data" / "eval" / "pairs.jsonl"


@dataclasses.dataclass
class GapReport:
    job_skills: Scores
    missing_skills: Scores
    per_pair: dict[str, dict[str, list[str]]]


def micro(pairs: Sequence[tuple[set[str], frozenset[str]]]) -> Scores:
    tp = fp = fn = 0
    for predicted, expected in pairs:
        s = precision_recall_f1(predicted, expected)
        tp, fp, fn = tp + s.true_positives, fp + s.false_positives, fn + s.false_negatives
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, tp, fp, fn)


async def evaluate(pairs: list[EvalPair], threshold: float) -> GapReport:
    settings = Settings.from_env(log_json=False)
    ner = await ner_server.start(settings, port=0)
    similarity = await similarity_server.start(settings, port=0)
    try:
        async with (
            grpc.aio.insecure_channel(ner.address) as ner_channel,
            grpc.aio.insecure_channel(similarity.address) as sim_channel,
        ):
            extract = ner_service_pb2_grpc.NerServiceStub(ner_channel)
            compare = similarity_service_pb2_grpc.SimilarityServiceStub(sim_channel)
            job_rows, gap_rows, per_pair = [], [], {}
            for pair in pairs:
                found = await extract.ExtractSkills(
                    ner_service_pb2.ExtractSkillsRequest(texts=[pair.resume, pair.job_description])
                )
                resume_skills = [s.name for s in found.documents[0].skills]
                job_skills = [s.name for s in found.documents[1].skills]
                missing: set[str] = set()
                if job_skills:
                    comparison = await compare.CompareSkills(
                        similarity_service_pb2.CompareSkillsRequest(
                            resume_skills=resume_skills, job_skills=job_skills, threshold=threshold
                        )
                    )
                    missing = set(comparison.missing_skills)
                job_rows.append((set(job_skills), pair.job_skills))
                gap_rows.append((missing, pair.missing_skills))
                per_pair[pair.id] = {
                    "job_extra": sorted(set(job_skills) - pair.job_skills),
                    "job_missed": sorted(pair.job_skills - set(job_skills)),
                    "gap_extra": sorted(missing - pair.missing_skills),
                    "gap_missed": sorted(pair.missing_skills - missing),
                }
    finally:
        await ner.stop(0.1)
        await similarity.stop(0.1)
    return GapReport(micro(job_rows), micro(gap_rows), per_pair)


def format_report(report: GapReport, pairs: int) -> str:
    lines = [f"Skill evaluation over {pairs} labelled resume / job pairs (micro-averaged)"]
    for name, s, target in (
        ("job skills", report.job_skills, 0.85),
        ("missing skills (gap)", report.missing_skills, 0.80),
    ):
        lines.append(
            f"  {name:<22} precision {s.precision:.3f}  recall {s.recall:.3f}  F1 {s.f1:.3f}"
            f"  (target F1 >= {target:.2f}: {'met' if s.f1 >= target else 'missed'})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    pairs = load_eval_set(EVAL_SET)
    report = asyncio.run(evaluate(pairs, args.threshold))
    print(format_report(report, len(pairs)))
    if args.verbose:
        for pair_id, errors in report.per_pair.items():
            shown = {k: v for k, v in errors.items() if v}
            if shown:
                print(f"  {pair_id}: {shown}")


if __name__ == "__main__":
    main()
