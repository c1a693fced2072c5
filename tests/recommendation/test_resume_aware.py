"""Recommendations that respect the resume: no course for a skill or a certification the resume shows, gaps
only where the resume really lacks the skill, the job's field preferred, and gaps no course teaches named."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from services.common.catalog import Course
from services.common.taxonomy import Skill, Taxonomy
from services.recommendation import core
from services.recommendation.backends import CohereRanker
from services.recommendation.known_skills import ResumeSkills, SkillKeys, course_subjects, infer_field

VOCABULARY = Taxonomy(
    [
        Skill("Six Sigma", "Quality", ("Lean Six Sigma", "Lean Six Sigma Green Belt", "Green Belt"),
              id="skillbridge:six-sigma", field="mechanical-manufacturing",
              covers=("skillbridge:lean-manufacturing",)),
        Skill("Lean Manufacturing", "Quality", ("Lean",), id="skillbridge:lean-manufacturing",
              field="mechanical-manufacturing"),
        Skill("Process Improvement", "Operations", (), id="skillbridge:process-improvement", field="general"),
        Skill("Kaizen", "Quality", (), id="skillbridge:kaizen", field="mechanical-manufacturing"),
        Skill("PostgreSQL", "Databases", ("Postgres",), id="skillbridge:postgresql", field="software"),
        Skill("Microsoft Excel", "Office", ("Excel",), id="skillbridge:excel", field="general"),
        Skill("Financial Forecasting", "Finance", ("Forecasting", "Business Forecasting"),
              id="skillbridge:financial-forecasting", field="accounting-finance"),
        Skill("Medication Administration", "Nursing", (), id="skillbridge:medication-administration",
              field="healthcare"),
        Skill("Telemetry Monitoring", "Nursing", ("Telemetry",), id="skillbridge:telemetry", field="healthcare"),
        Skill("Contract Negotiation", "Sales", (), id="skillbridge:contract-negotiation", field="sales"),
        Skill("Leadership", "Soft Skills", (), id="skillbridge:leadership", field="general"),
        Skill("Conflict Resolution", "Soft Skills", (), id="skillbridge:conflict-resolution", field="general"),
    ]
)  # fmt: skip


def course(cid: str, title: str, skills: Sequence[str], field: str = "", level: str = "intermediate") -> Course:
    return Course(cid, title, "Test U", "", tuple(skills), level, 10, "https://example.org/", field)


def recommend(
    missing: Sequence[str],
    resume: Sequence[str],
    candidates: Sequence[Course],
    *,
    job: Sequence[str] = (),
    job_field: str = "",
) -> core.Recommendation:
    return core.recommend(missing, resume, job or missing, candidates, 5, vocabulary=VOCABULARY, job_field=job_field)


def test_a_green_belt_holder_is_not_sent_to_the_green_belt_course() -> None:
    green_belt = course("gb", "Lean Six Sigma Green Belt", ["Six Sigma", "Process Improvement"])
    kaizen = course("kz", "Kaizen Events in Practice", ["Kaizen", "Process Improvement"])
    result = recommend(["Process Improvement"], ["Lean Six Sigma Green Belt"], [green_belt, kaizen])
    assert [r.course.id for r in result.courses] == ["kz"]
    # Without another course, the gap is named rather than filled with the course for what the resume shows.
    alone = recommend(["Process Improvement"], ["Lean Six Sigma Green Belt"], [green_belt])
    assert alone.courses == () and alone.uncovered_skills == ("Process Improvement",)
    assert "No course found for Process Improvement" in alone.summary


def test_a_course_whose_title_also_names_a_gap_skill_is_kept() -> None:
    forecasting = course("fc", "Excel Skills for Business Forecasting", ["Financial Forecasting", "Microsoft Excel"])
    result = recommend(["Financial Forecasting"], ["Excel"], [forecasting])
    assert [r.course.id for r in result.courses] == ["fc"]
    assert result.courses[0].covered_skills == ("Financial Forecasting",)


def test_skills_the_resume_shows_by_another_name_or_a_broader_skill_are_not_a_gap() -> None:
    lean = course("ln", "Lean Basics", ["Lean Manufacturing"])
    postgres = course("pg", "Databases in Depth", ["Kaizen", "PostgreSQL"])
    result = recommend(["Lean Manufacturing", "PostgreSQL", "Kaizen"], ["Six Sigma", "Postgres"], [lean, postgres])
    assert [r.course.id for r in result.courses] == ["pg"]
    assert result.courses[0].covered_skills == ("Kaizen",)
    assert result.courses[0].gap_coverage == 1.0
    assert "covers 1 of the 1 skills this job needs that your resume lacks (100% of the gap): Kaizen." in result.summary
    # A course for a skill the resume shows is left out even when the caller lists that skill as missing.
    only_known = recommend(["PostgreSQL"], ["Postgres"], [course("p2", "Postgres Administration", ["PostgreSQL"])])
    assert only_known.courses == () and "already has every skill" in only_known.summary


def test_course_skills_match_the_gap_through_aliases() -> None:
    result = recommend(["PostgreSQL"], [], [course("pg", "Postgres for Beginners", ["Postgres"])])
    assert [r.covered_skills for r in result.courses] == [("PostgreSQL",)]
    assert result.uncovered_skills == ()


def test_courses_of_the_jobs_field_win_among_equals() -> None:
    nursing = course("n", "Telemetry for Nurses", ["Telemetry Monitoring"], field="healthcare")
    generic = course("g", "Monitoring Signals", ["Telemetry Monitoring"], field="software")
    job = ["Telemetry Monitoring", "Medication Administration"]
    # The field is read from the job skills when the caller does not say...
    inferred = recommend(["Telemetry Monitoring"], [], [generic, nursing], job=job)
    assert [r.course.id for r in inferred.courses] == ["n"]
    # ... and the caller's field wins when given.
    told = recommend(["Telemetry Monitoring"], [], [nursing, generic], job=job, job_field="Software")
    assert [r.course.id for r in told.courses] == ["g"]


def test_gap_coverage_still_beats_the_field() -> None:
    on_field = course("n", "Telemetry for Nurses", ["Telemetry Monitoring"], field="healthcare")
    broader = course("b", "Bedside Skills", ["Telemetry Monitoring", "Medication Administration"], field="general")
    gap = ["Telemetry Monitoring", "Medication Administration"]
    assert [r.course.id for r in recommend(gap, [], [on_field, broader]).courses] == ["b"]


def test_known_skills_helpers() -> None:
    keys = SkillKeys(VOCABULARY)
    resume = ResumeSkills(["Green Belt"], keys)
    assert resume.shows("Lean") and resume.shows("six sigma") and not resume.shows("Kaizen")
    assert not ResumeSkills(["Lean"], keys).shows("Six Sigma")  # the relation has a direction
    untitled = course("u", "A Practical Course", ["Kaizen", "Six Sigma"])
    assert course_subjects(untitled, keys) == ("Kaizen",)
    assert course_subjects(course("t", "Six Sigma and Kaizen", ["Kaizen", "Six Sigma"]), keys) == (
        "Kaizen",
        "Six Sigma",
    )
    assert infer_field(["Microsoft Excel", "Telemetry", "Medication Administration", "Postgres"], keys) == "healthcare"
    assert infer_field(["Microsoft Excel", "Unknown Skill"], keys) == ""
    # Without a vocabulary, names compare case-folded.
    assert ResumeSkills(["postgres"], SkillKeys(None)).shows("Postgres")
    assert not ResumeSkills(["Postgres"], SkillKeys(None)).shows("PostgreSQL")


class ReversingAssistant:
    """A remote assistant that ranks the documents in reverse and writes a fixed summary."""

    def __init__(self) -> None:
        self.documents: list[str] = []

    async def rerank(self, query: str, documents: Sequence[str]) -> list[int]:
        self.documents = list(documents)
        return list(reversed(range(len(documents))))

    async def write(self, prompt: str) -> str:
        return "A plan."

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("ranker", ["local", "remote"])
async def test_both_rankers_respect_the_resume(ranker: str) -> None:
    green_belt = course("gb", "Lean Six Sigma Green Belt", ["Six Sigma", "Process Improvement"])
    kaizen = course("kz", "Kaizen Events in Practice", ["Kaizen", "Process Improvement"])
    request = core.validate_request(
        ["Process Improvement", "Lean Manufacturing", "Medication Administration"],
        ["Green Belt"],
        ["Process Improvement", "Lean Manufacturing", "Medication Administration"],
        [kaizen, green_belt],
        5,
        vocabulary=VOCABULARY,
    )
    assert request.missing_skills == ("Process Improvement", "Medication Administration")
    assert [c.id for c in request.candidates] == ["kz"]
    assistant = ReversingAssistant()
    result = (
        core.recommend_validated(request)
        if ranker == "local"
        else await CohereRanker(assistant, timeout=5).recommend(request)
    )
    assert [(r.course.id, r.covered_skills) for r in result.courses] == [("kz", ("Process Improvement",))]
    assert result.uncovered_skills == ("Medication Administration",)
    assert result.backend == ranker.replace("remote", "cohere")
    if ranker == "remote":
        assert len(assistant.documents) == 1  # the course for what the resume shows never reached rerank


def test_potential_scores_weigh_nice_to_have_skills_as_overall_score_does() -> None:
    job = ["Kaizen", "Six Sigma", "Telemetry Monitoring"]
    course_both = course("b", "Kaizen and Telemetry", ["Kaizen", "Telemetry Monitoring"])
    # Kaizen is required, Telemetry Monitoring nice to have: weights 1 + 1 + 0.5 = 2.5; the course adds 1.5.
    [weighted] = core.score_courses(
        ["Six Sigma"], job, ["Kaizen", "Telemetry Monitoring"], 0.2, [course_both],
        vocabulary=VOCABULARY, nice_to_have_skills=["Telemetry"],
    )  # fmt: skip
    assert weighted.potential_score == pytest.approx(0.2 + 1.5 / 2.5)
    [plain] = core.score_courses(["Six Sigma"], job, ["Kaizen", "Telemetry Monitoring"], 0.2, [course_both])
    assert plain.potential_score == pytest.approx(0.2 + 2 / 3)
    with pytest.raises(core.InvalidArgument) as info:
        core.score_courses([], job, [], 0.0, [], nice_to_have_skills=["Baking"])
    assert info.value.violations[0].field == "nice_to_have_skills[0]"


def test_soft_skills_get_a_course_only_when_no_skill_of_the_job_does() -> None:
    leadership = course("ld", "Leadership Skills", ["Leadership"], "general")
    conflict = course("cr", "Mediation and Conflict Resolution", ["Conflict Resolution"], "general")
    telemetry = course("tm", "Cardiac Telemetry Basics", ["Telemetry Monitoring"], "healthcare")
    gap = ["Leadership", "Telemetry Monitoring", "Conflict Resolution"]
    result = recommend(gap, [], [leadership, conflict, telemetry])
    assert [r.course.id for r in result.courses] == ["tm"]
    assert "Leadership and Conflict Resolution are soft skills" in result.summary
    assert "did not fit" not in result.summary
    # The gap itself is unchanged, and the plan's share of it counts every gap skill.
    assert result.courses[0].gap_coverage == pytest.approx(1 / 3)
    # A soft skill no candidate teaches is named once, with the other untaught skills.
    untaught = recommend([*gap, "Conflict Resolution"], [], [leadership, telemetry])
    assert "No course found for Conflict Resolution." in untaught.summary
    assert "Leadership is a soft skill" in untaught.summary
    # With no course for the job's own skills, the soft skills get theirs.
    only_soft = recommend(gap, [], [leadership, conflict])
    assert {r.course.id for r in only_soft.courses} == {"ld", "cr"}
    assert "soft skill" not in only_soft.summary


def test_a_course_of_another_field_teaches_only_that_fields_skills() -> None:
    hotel = course(
        "hs", "Hotel Sales and Group Bookings", ["Contract Negotiation", "Telemetry Monitoring"], "hospitality"
    )
    result = recommend(["Contract Negotiation"], [], [hotel], job_field="sales")
    assert result.courses == () and result.uncovered_skills == ("Contract Negotiation",)
    # A course of the skill's own field still serves, as do general ones and the job's own field's.
    telemetry = course("tm", "Telemetry for Nurses", ["Telemetry Monitoring"], "healthcare")
    assert [r.course.id for r in recommend(["Telemetry Monitoring"], [], [telemetry], job_field="sales").courses] == [
        "tm"
    ]
    general = course("ng", "Negotiation", ["Contract Negotiation"], "general")
    assert [r.course.id for r in recommend(["Contract Negotiation"], [], [general], job_field="sales").courses] == [
        "ng"
    ]
