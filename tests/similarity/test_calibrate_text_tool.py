"""The guided-coverage calibration tool's curve and choice of cut-off, on hand-made readings (no models)."""

from __future__ import annotations

from tests.eval.dataset import EvalPair, GoldSkill
from tests.similarity.calibrate_text import JobSkillOutcome, PairReading, best_point, curve, format_curve, point_at


def pair() -> EvalPair:
    job = (GoldSkill("Patient Education", ()), GoldSkill("Telemetry", ()), GoldSkill("Epic", ()))
    return EvalPair(
        id="healthcare-99",
        field="healthcare",
        split="dev",
        title="Nurse",
        resume="",
        job_description="",
        job_skills=job,
        resume_skills=(),
        missing_skill_names=("Telemetry",),
    )


def reading() -> PairReading:
    # Patient Education is covered (gold) and a passage shows it at 0.62; Telemetry is a real gap that a passage
    # about the unit reaches at 0.55; Epic the resume names; "Patient Care" is no gold job skill, its passage 0.70.
    return PairReading(
        pair(),
        [
            JobSkillOutcome("Patient Education", True, 0.62, "taught patients", True, True),
            JobSkillOutcome("Telemetry", True, 0.55, "a 32-bed unit", True, False),
            JobSkillOutcome("Epic", False, 0.0, "", True, True),
            JobSkillOutcome("Patient Care", True, 0.70, "cared for patients", False, False),
        ],
    )


def test_the_curve_counts_gaps_as_make_eval_does_and_what_the_passages_decide() -> None:
    points = {p.cut: p for p in curve([reading()])}
    low, middle, high = points[0.5], points[0.6], points[0.75]
    # Below every cosine all three leave the gap: the real gap is missed.
    assert (low.gap.tp, low.gap.fp, low.gap.fn) == (0, 0, 1)
    assert (low.covered_found, low.gaps_hidden, low.extras_covered) == (1, 1, 1)
    assert low.accuracy == 2 / 3
    # Between 0.55 and 0.62 the real gap is found and the covered skill stays covered.
    assert (middle.gap.tp, middle.gap.fp, middle.gap.fn) == (1, 0, 0) and middle.accuracy == 1.0
    # Above every cosine the covered skill and the extra are reported missing too.
    assert (high.gap.tp, high.gap.fp, high.gap.fn) == (1, 2, 0)
    assert (high.covered_found, high.covered_total, high.extras_total) == (0, 1, 1)


def test_the_cut_off_is_the_highest_within_the_band_of_the_best_f1() -> None:
    points = curve([reading()])
    best = best_point(points)
    # F1 1.0 at 0.575 and 0.6: the real gap is found and Patient Education (0.62) still covered; not above.
    assert best.cut == 0.6 and best.gap.f1 == 1.0
    off = point_at([reading()], 2.0)
    assert (off.gap.tp, off.gap.fp, off.gap.fn, off.accuracy) == (1, 2, 0, 2 / 3)
    assert "<- best F1" in format_curve(points, off, "dev", 1)
