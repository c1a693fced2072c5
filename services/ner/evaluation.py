"""Evaluation of skill extraction against the hand-labelled pairs in tests/data/eval/pairs.jsonl.

Each line holds a resume, a job description, the canonical skills a person reads in the job description
(`job_skills`) and the job skills the resume does not cover (`missing_skills`). The functions here are pure;
`evaluate()` takes any function that maps a text to a set of canonical skill names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EvalPair:
    """One labelled resume / job description pair."""

    id: str
    role: str
    resume: str
    job_description: str
    job_skills: frozenset[str]
    missing_skills: frozenset[str]


@dataclass(frozen=True)
class Scores:
    """Precision, recall and F1 of one comparison (micro-averaged when summed over pairs)."""

    precision: float
    recall: float
    f1: float
    true_positives: int
    false_positives: int
    false_negatives: int


@dataclass(frozen=True)
class EvalReport:
    """Scores over the whole set, plus the per-pair errors for reading."""

    job_skills: Scores
    missing_skills: Scores
    errors: dict[str, dict[str, list[str]]]


def precision_recall_f1(predicted: Iterable[str], expected: Iterable[str]) -> Scores:
    """Set precision, recall and F1. Two empty sets agree perfectly (1.0 each)."""
    pred, gold = set(predicted), set(expected)
    return _scores(len(pred & gold), len(pred - gold), len(gold - pred))


def _scores(tp: int, fp: int, fn: int) -> Scores:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, tp, fp, fn)


def load_eval_set(path: Path) -> list[EvalPair]:
    """Reads the JSONL eval set; raises ValueError naming the line of a malformed pair."""
    pairs: list[EvalPair] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            pair = EvalPair(
                id=str(raw["id"]),
                role=str(raw.get("role", "")),
                resume=str(raw["resume"]),
                job_description=str(raw["job_description"]),
                job_skills=frozenset(raw["job_skills"]),
                missing_skills=frozenset(raw["missing_skills"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: bad eval pair: {exc}") from exc
        if not pair.missing_skills <= pair.job_skills:
            raise ValueError(
                f"{path}:{number}: missing_skills not in job_skills: {pair.missing_skills - pair.job_skills}"
            )
        pairs.append(pair)
    return pairs


def evaluate(pairs: Sequence[EvalPair], extract: Callable[[Sequence[str]], list[set[str]]]) -> EvalReport:
    """Micro-averaged job-skill and missing-skill scores of an extractor.

    `extract` maps a batch of texts to the canonical skills of each; missing skills are predicted as the job
    skills found minus the resume skills found (an exact-name gap; the similarity service refines this).
    """
    found = extract([text for pair in pairs for text in (pair.resume, pair.job_description)])
    job_counts = [0, 0, 0]
    gap_counts = [0, 0, 0]
    errors: dict[str, dict[str, list[str]]] = {}
    for i, pair in enumerate(pairs):
        resume_skills, job_skills = found[2 * i], found[2 * i + 1]
        missing = job_skills - resume_skills
        for counts, pred, gold in (
            (job_counts, job_skills, pair.job_skills),
            (gap_counts, missing, pair.missing_skills),
        ):
            counts[0] += len(pred & gold)
            counts[1] += len(pred - gold)
            counts[2] += len(gold - pred)
        errors[pair.id] = {
            "job_extra": sorted(job_skills - pair.job_skills),
            "job_missed": sorted(pair.job_skills - job_skills),
            "gap_extra": sorted(missing - pair.missing_skills),
            "gap_missed": sorted(pair.missing_skills - missing),
        }
    return EvalReport(_scores(*job_counts), _scores(*gap_counts), errors)
