"""Unit tests of the greedy gap cover, rationales, summaries, scoring maths and request validation."""

from __future__ import annotations

import math
import random

import pytest

from services.common.catalog import Course
from services.common.errors import InvalidArgument
from services.recommendation import core


def course(cid: str, skills: list[str], level: str = "intermediate", hours: int = 10, title: str = "") -> Course:
    return Course(
        id=cid,
        title=title or f"Course {cid}",
        provider="Test U",
        description="",
        skills=tuple(skills),
        level=level,
        duration_hours=hours,
        url="https://example.org/",
    )


def ids(result: core.Recommendation) -> list[str]:
    return [rec.course.id for rec in result.courses]


def test_plan_covers_the_gap_with_the_biggest_course_first() -> None:
    candidates = [
        course("a", ["Kafka"]),
        course("ab", ["Kafka", "Spark"]),
        course("c", ["dbt"]),
        course("b", ["Spark"]),
        course("x", ["Cooking"]),
    ]
    result = core.recommend(["Kafka", "Spark", "dbt"], [], ["Kafka", "Spark", "dbt"], candidates, 5)
    assert ids(result) == ["ab", "c"]
    assert [rec.covered_skills for rec in result.courses] == [("Kafka", "Spark"), ("dbt",)]
    assert result.courses[0].gap_coverage == pytest.approx(2 / 3)
    assert result.courses[1].gap_coverage == pytest.approx(1 / 3)
    assert result.backend == "local"
    assert result.fallback_reason == ""
    assert "covers 3 of the 3 skills" in result.summary
    assert "100% of the gap" in result.summary


def test_a_course_that_adds_nothing_new_is_never_chosen() -> None:
    candidates = [course("ab", ["A", "B"]), course("a", ["A"]), course("b", ["B"]), course("ab2", ["B", "A"])]
    result = core.recommend(["A", "B"], [], ["A", "B"], candidates, 5)
    assert ids(result) == ["ab"]


def test_max_courses_is_respected_and_the_rest_named_in_the_summary() -> None:
    candidates = [course(s, [s]) for s in ["A", "B", "C", "D"]]
    result = core.recommend(["A", "B", "C", "D"], [], ["A", "B", "C", "D"], candidates, 2)
    assert ids(result) == ["A", "B"]
    assert "covers 2 of the 4 skills" in result.summary
    assert "Courses for C and D did not fit within 2 courses." in result.summary


def test_zero_max_courses_means_five() -> None:
    skills = [f"S{i}" for i in range(8)]
    result = core.recommend(skills, [], skills, [course(s, [s]) for s in skills], 0)
    assert len(result.courses) == core.DEFAULT_MAX_COURSES == 5


def test_beginner_level_wins_a_tie_when_the_resume_knows_none_of_the_course_skills() -> None:
    candidates = [
        course("adv", ["Kafka"], "advanced", 5),
        course("int", ["Kafka"], "intermediate", 5),
        course("beg", ["Kafka"], "beginner", 50),
    ]
    result = core.recommend(["Kafka"], ["Python"], ["Kafka", "Python"], candidates, 5)
    assert ids(result) == ["beg"]


def test_intermediate_level_wins_a_tie_when_the_resume_knows_some_course_skills() -> None:
    candidates = [
        course("beg", ["Kafka", "Java"], "beginner", 5),
        course("adv", ["Kafka", "Java"], "advanced", 5),
        course("int", ["Kafka", "Java"], "intermediate", 40),
    ]
    result = core.recommend(["Kafka"], ["java"], ["Kafka", "Java"], candidates, 5)
    assert ids(result) == ["int"]


def test_shorter_course_wins_a_tie_on_gain_and_level_then_input_order() -> None:
    candidates = [
        course("long", ["A"], "beginner", 30),
        course("unknown", ["A"], "beginner", 0),
        course("short", ["A"], "beginner", 8),
        course("short2", ["A"], "beginner", 8),
    ]
    assert ids(core.recommend(["A"], [], ["A"], candidates, 5)) == ["short"]


def test_gain_beats_level_fit() -> None:
    candidates = [course("beg", ["A"], "beginner", 1), course("adv", ["A", "B"], "advanced", 100)]
    assert ids(core.recommend(["A", "B"], [], ["A", "B"], candidates, 1)) == ["adv"]


def test_ranked_mode_breaks_ties_by_candidate_order_only() -> None:
    request = core.validate_request(
        ["A", "B"],
        [],
        ["A", "B"],
        [course("adv-b", ["B"], "advanced", 90), course("beg-a", ["A"], "beginner", 1)],
        5,
    )
    ranked = [rec.course.id for rec in core.build_plan(request, ranked=True)]
    local = [rec.course.id for rec in core.build_plan(request)]
    assert ranked == ["adv-b", "beg-a"]
    assert local == ["beg-a", "adv-b"]


def test_matching_is_case_insensitive_and_keeps_the_callers_spelling() -> None:
    candidates = [course("k", ["Apache Kafka", "Stream Processing"])]
    result = core.recommend(["apache kafka", "STREAM PROCESSING"], [], [], candidates, 5)
    assert result.courses[0].covered_skills == ("apache kafka", "STREAM PROCESSING")


def test_rationale_names_the_covered_skills_level_and_hours() -> None:
    candidates = [course("k", ["Apache Kafka", "Stream Processing", "Java"], "intermediate", 20)]
    missing = ["Apache Kafka", "Stream Processing", "Kubernetes", "Terraform", "dbt"]
    result = core.recommend(missing, ["Java"], [*missing, "Java"], candidates, 5)
    assert result.courses[0].rationale == (
        "Covers Apache Kafka and Stream Processing, 2 of the 5 skills this job needs that your resume "
        "lacks, at intermediate level in 20 hours."
    )
    assert result.courses[0].gap_coverage == pytest.approx(0.4)


def test_rationale_for_a_single_skill_gap_and_unknown_level_and_duration() -> None:
    rationale = core.rationale_for(course("x", ["A"], "", 0), ["A"], 1)
    assert rationale == "Covers A, the one skill this job needs that your resume lacks."
    assert core.rationale_for(course("x", ["A", "B", "C"], "beginner", 1), ["A", "B", "C"], 4) == (
        "Covers A, B and C, 3 of the 4 skills this job needs that your resume lacks, at beginner level in 1 hour."
    )


def test_summary_names_the_skills_no_candidate_teaches() -> None:
    result = core.recommend(["A", "Z", "Y"], [], ["A", "Z", "Y"], [course("a", ["A"])], 5)
    assert "covers 1 of the 3 skills" in result.summary
    assert "(33% of the gap)" in result.summary
    assert "No course found for Z and Y." in result.summary
    assert result.uncovered_skills == ("Z", "Y")


def test_no_gap_means_no_course() -> None:
    result = core.recommend([], ["A"], ["A"], [course("a", ["A"])], 5)
    assert result.courses == ()
    assert "already has every skill" in result.summary


def test_no_candidate_teaching_the_gap_gives_an_empty_plan_and_says_so() -> None:
    result = core.recommend(["Z"], [], ["Z"], [course("a", ["A"])], 5)
    assert result.courses == ()
    assert result.summary == "No course found for Z, the one skill this job needs that your resume lacks."
    assert result.uncovered_skills == ("Z",)


def test_duplicate_candidates_are_counted_once() -> None:
    request = core.validate_request(["A"], [], ["A"], [course("a", ["A"]), course("a", ["A"])], 5)
    assert len(request.candidates) == 1


@pytest.mark.parametrize("seed", range(25))
def test_greedy_invariants_on_random_instances(seed: int) -> None:
    rng = random.Random(seed)
    universe = [f"S{i}" for i in range(12)]
    missing = rng.sample(universe, rng.randint(1, 10))
    candidates = [
        course(f"c{i}", rng.sample(universe, rng.randint(1, 4)), rng.choice(["beginner", "advanced"]))
        for i in range(rng.randint(1, 30))
    ]
    limit = rng.randint(1, 6)
    result = core.recommend(missing, [], universe, candidates, limit)
    covered: set[str] = set()
    for rec in result.courses:
        taught = set(rec.covered_skills)
        assert taught == {s for s in missing if s in rec.course.skills}
        assert taught - covered, "every chosen course adds a gap skill not covered before"
        covered |= taught
    assert len(result.courses) <= limit
    if len(result.courses) < limit:
        # The plan stopped early only because no candidate could add anything.
        assert all(not (set(c.skills) & (set(missing) - covered)) for c in candidates)
    # Each pick had the largest gain available at its turn.
    seen: set[str] = set()
    for rec in result.courses:
        gain = len(set(rec.covered_skills) - seen)
        best = max(len((set(c.skills) & set(missing)) - seen) for c in candidates)
        assert gain == best
        seen |= set(rec.covered_skills)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_courses": 21}, "max_courses"),
        ({"max_courses": -1}, "max_courses"),
        ({"candidates": [course(str(i), ["A"]) for i in range(501)]}, "candidates"),
        ({"missing_skills": ["A", "  "]}, "missing_skills[1]"),
        ({"resume_skills": ["x" * 201]}, "resume_skills[0]"),
        ({"candidates": [course("", ["A"])]}, "candidates[0].id"),
        ({"candidates": [course("a", ["A"], "expert")]}, "candidates[0].level"),
    ],
)
def test_bad_requests_name_the_field(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "missing_skills": ["A"],
        "resume_skills": [],
        "job_skills": ["A"],
        "candidates": [course("a", ["A"])],
        "max_courses": 5,
    }
    args.update(kwargs)
    with pytest.raises(InvalidArgument) as caught:
        core.recommend(**args)  # type: ignore[arg-type]
    assert [v.field for v in caught.value.violations] == [field]


def test_twenty_courses_is_allowed() -> None:
    skills = [f"S{i}" for i in range(25)]
    result = core.recommend(skills, [], skills, [course(s, [s]) for s in skills], 20)
    assert len(result.courses) == 20


# --- scoring -------------------------------------------------------------------------------------------


def test_potential_score_adds_each_taught_missing_skill_share_of_the_job() -> None:
    job = ["Python", "SQL", "Kafka", "Spark", "dbt"]
    scores = core.score_courses(
        ["Python", "SQL"],
        job,
        ["Kafka", "Spark", "dbt"],
        0.4,
        [
            course("two", ["kafka", "Spark", "Python"]),
            course("none", ["Cooking", "SQL"]),
            course("three", ["Kafka", "Spark", "dbt"]),
        ],
    )
    assert [s.course_id for s in scores] == ["two", "none", "three"]
    assert scores[0].potential_score == pytest.approx(0.8)
    assert scores[0].score_improvement == pytest.approx(0.4)
    assert scores[1].potential_score == pytest.approx(0.4)
    assert scores[1].score_improvement == 0.0
    assert scores[2].potential_score == pytest.approx(1.0)


def test_potential_score_is_capped_at_one() -> None:
    # A soft (similarity-based) current score can be higher than the share of exactly matched skills.
    scores = core.score_courses(["A"], ["A", "B", "C"], ["B", "C"], 0.9, [course("bc", ["B", "C"])])
    assert scores[0].potential_score == 1.0
    assert scores[0].score_improvement == pytest.approx(0.1)


def test_score_without_courses_is_empty() -> None:
    assert core.score_courses(["A"], ["A"], [], 1.0, []) == []


@pytest.mark.parametrize(
    ("current", "missing", "field"),
    [
        (1.5, ["B"], "current_score"),
        (-0.1, ["B"], "current_score"),
        (math.nan, ["B"], "current_score"),
        (0.5, ["Z"], "missing_skills[0]"),
        (0.5, [""], "missing_skills[0]"),
    ],
)
def test_bad_score_requests_name_the_field(current: float, missing: list[str], field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        core.score_courses(["A"], ["A", "B"], missing, current, [course("b", ["B"])])
    assert [v.field for v in caught.value.violations] == [field]
