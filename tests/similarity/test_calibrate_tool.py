"""The calibration tool's curve and choice of cosine, on hand-made readings (no models)."""

from __future__ import annotations

from tests.eval.dataset import EvalPair, GoldSkill
from tests.similarity.calibrate import GRID, JobSkillOutcome, PairReading, best_point, curve, format_curve


def pair() -> EvalPair:
    job = (GoldSkill("PostgreSQL", ()), GoldSkill("Kubernetes", ()), GoldSkill("Terraform", ()))
    return EvalPair(
        id="software-99",
        field="software",
        split="dev",
        title="Platform engineer",
        resume="",
        job_description="",
        job_skills=job,
        resume_skills=(),
        missing_skill_names=("Kubernetes", "Terraform"),
    )


def reading() -> PairReading:
    # PostgreSQL is covered (gold) and its closest resume skill sits at 0.62; Kubernetes is a real gap whose
    # closest resume skill sits at 0.55; Terraform is a gap matched exactly by nothing and far from everything.
    return PairReading(
        pair(),
        [
            JobSkillOutcome("PostgreSQL", "Postgres DB", True, 0.62, True, True),
            JobSkillOutcome("Kubernetes", "Docker", True, 0.55, True, False),
            JobSkillOutcome("Terraform", "Excel", True, 0.10, True, False),
        ],
    )


def test_the_curve_counts_gaps_as_make_eval_does_and_what_the_embedding_decides() -> None:
    points = {round(p.cosine, 3): p for p in curve([reading()])}
    low, middle, high = points[0.5], points[0.6], points[0.65]
    # Below both cosines everything but Terraform is matched: one true gap found, one missed.
    assert (low.gap.tp, low.gap.fp, low.gap.fn) == (1, 0, 1)
    assert (low.covered_matched, low.gaps_matched) == (1, 1)
    # Between them the real gap is found; above both the covered skill is wrongly reported missing too.
    assert (middle.gap.tp, middle.gap.fp, middle.gap.fn) == (2, 0, 0)
    assert (high.gap.tp, high.gap.fp, high.gap.fn) == (2, 1, 0)
    assert (middle.covered_matched, middle.gaps_matched) == (1, 0)


def test_the_best_cosine_is_the_lowest_of_the_best_plateau() -> None:
    points = curve([reading()])
    best = best_point(points)
    assert best.cosine == 0.575 and best.gap.f1 == 1.0
    assert max(GRID) < 1.0
    assert "<- best F1" in format_curve(points, "dev", 1, 0.8)
