"""The scoring rules of the evaluation (pure functions, no models)."""

from __future__ import annotations

import pytest

from tests.eval.dataset import OUTSIDE_SOFTWARE_GROUP, SOFTWARE_GROUP, EvalPair, GoldSkill
from tests.eval.figures import score_pair, summarise
from tests.eval.scoring import Counts, PairOutcome, RecommendedCourse, match_skills, normalise, score_courses


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("REST APIs", "rest api"),
        ("Research & Development", "research and development"),
        ("CI/CD", "cicd"),
        ("Node.js", "NodeJS"),
        ("  Accounts   Payable ", "accounts payable"),
        ("GD&T", "GD and T"),
        ("Vendor-Managed Inventory", "Vendor Managed Inventory"),
        ("E-commerce", "ecommerce"),
        ("Fit-up", "fit up"),
    ],
)
def test_normalise_makes_these_equal(a: str, b: str) -> None:
    assert normalise(a) == normalise(b)


@pytest.mark.parametrize(("a", "b"), [("C++", "C"), ("C#", "C"), ("F#", "F"), ("AWS", "AW")])
def test_normalise_keeps_these_apart(a: str, b: str) -> None:
    assert normalise(a) != normalise(b)


def test_counts_precision_recall_f1_and_empty_cases() -> None:
    c = Counts(tp=2, fp=1, fn=2)
    assert (c.precision, c.recall, c.f1) == pytest.approx((2 / 3, 0.5, 4 / 7))
    assert Counts().f1 == 1.0  # nothing to find and nothing predicted
    assert Counts(fp=1).f1 == 0.0
    assert (Counts(1, 2, 3) + Counts(1, 1, 1)) == Counts(2, 3, 4)


def test_aka_hits_and_each_gold_skill_counts_once() -> None:
    gold = [GoldSkill("Kubernetes", ("k8s",)), GoldSkill("Basic Life Support", ("BLS",))]
    result = match_skills(["K8s", "kubernetes", "BLS", "Spark"], gold)
    # "K8s" and "kubernetes" both fit Kubernetes: one hit, the other an extra.
    assert result.counts == Counts(tp=2, fp=2, fn=0)
    assert result.hits == {"Kubernetes": "K8s", "Basic Life Support": "BLS"}
    assert sorted(result.extras) == ["Spark", "kubernetes"]


def test_predictions_with_the_same_normal_form_count_once() -> None:
    result = match_skills(["REST APIs", "REST API", "rest apis"], [GoldSkill("REST APIs", ())])
    assert result.counts == Counts(tp=1, fp=0, fn=0)


def test_the_matching_is_maximal_when_a_prediction_fits_two_gold_skills() -> None:
    gold = [GoldSkill("Accounts Receivable", ("AR", "AR/AP")), GoldSkill("Accounts Payable", ("AP", "AR/AP"))]
    result = match_skills(["AR/AP", "accounts receivable"], gold)
    assert result.counts == Counts(tp=2, fp=0, fn=0)
    assert result.misses == []


def test_a_broader_or_unrelated_name_is_a_miss_and_an_extra() -> None:
    result = match_skills(["Nursing", "React Native"], [GoldSkill("Registered Nurse", ("RN",))])
    assert result.counts == Counts(tp=0, fp=2, fn=1)
    assert result.misses == ["Registered Nurse"]


def test_courses_on_the_gap_and_courses_teaching_known_skills() -> None:
    missing = [GoldSkill("Telemetry Monitoring", ("cardiac telemetry",))]
    known = [GoldSkill("Lean Six Sigma", ("LSS",))]
    courses = [
        RecommendedCourse("ECG basics", ("Cardiac Telemetry",), ()),
        RecommendedCourse("Cardiac nursing", (), ("Telemetry Monitoring", "ACLS")),  # catalog skills count too
        RecommendedCourse("Green Belt", ("LSS",), ()),
        RecommendedCourse("Feedback", ("Communication",), ()),
    ]
    counts, off_gap, redundant = score_courses(courses, missing, known)
    assert (counts.courses, counts.cover_gap, counts.teach_known) == (4, 2, 1)
    assert off_gap == ["Green Belt", "Feedback"]
    assert redundant == ["Green Belt"]
    assert counts.gap_share == 0.5 and counts.known_share == 0.25
    empty, _, _ = score_courses([], missing, known)
    assert (empty.gap_share, empty.known_share) == (1.0, 0.0)


def _pair(pair_id: str, field: str) -> EvalPair:
    return EvalPair(
        id=pair_id,
        field=field,
        split="dev",
        title="t",
        resume="r",
        job_description="j",
        job_skills=(GoldSkill("Python", ("Python 3",)), GoldSkill("Wound Care", ("wound management",), False)),
        resume_skills=(GoldSkill("Python", ()),),
        missing_skill_names=("Wound Care",),
    )


def test_pairs_are_summed_overall_per_group_and_per_field() -> None:
    nurse = _pair("healthcare-01", "healthcare")
    coder = _pair("software-01", "software")
    scores = [
        score_pair(nurse, PairOutcome("healthcare-01", job_skills=("Python", "Nursing"), skill_gap=("Nursing",))),
        score_pair(coder, PairOutcome("software-01", error="FAILED: stage timed out")),  # predicts nothing
    ]
    summaries = summarise(scores)
    assert summaries.overall.job == Counts(tp=1, fp=1, fn=3)
    assert summaries.overall.gap == Counts(tp=0, fp=1, fn=2)
    assert summaries.overall.failed == 1
    assert list(summaries.groups) == [OUTSIDE_SOFTWARE_GROUP, SOFTWARE_GROUP]
    assert summaries.fields["software"].job == Counts(tp=0, fp=0, fn=2)
    assert [label for label, _ in summaries.rows()] == [
        "all",
        "group: outside software",
        "group: software",
        "healthcare",
        "software",
    ]


def test_the_required_flag_is_compared_where_the_stack_reports_it() -> None:
    outcome = PairOutcome("x", job_skills=("python", "Wound Care"), required={"python": True, "Wound Care": True})
    score = score_pair(_pair("x", "healthcare"), outcome)
    assert (score.required_checked, score.required_agreed) == (2, 1)
