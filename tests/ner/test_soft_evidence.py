"""Soft skills read from a resume's prose (services/ner/soft_evidence.py), and how a resume read for a job uses them."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from services.ner.core import NerCore
from services.ner.matcher import VocabularyMatcher
from services.ner.model import DocumentKind, EntitySpan
from services.ner.soft_evidence import soft_skill_phrases


class NoEntities:
    source = "none"

    def entities(self, texts: Sequence[str]) -> list[list[EntitySpan]]:
        return [[] for _ in texts]


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("I lead a crew of 8 to 15 part-time servers and bartenders.", "lead a crew"),
        ("- Lead a team of 22 front desk agents, PBX operators and night auditors;", "Lead a team"),
        ("Supervised 12 agents on the evening shift.", "Supervised 12 agents"),
        ("Oversaw three project managers and two estimators.", "Oversaw three project managers"),
        ("Managed a staff of 30 across two sites.", "Managed a staff"),
    ],
)
def test_a_verb_of_leading_before_a_group_of_people_is_read(text: str, phrase: str) -> None:
    assert [text[a:b] for skills, a, b in soft_skill_phrases(text) if "Leadership" in skills] == [phrase]


@pytest.mark.parametrize(
    "text",
    [
        "Managed shared hosting for 9,000 customers.",
        "Managed 640+ RFIs and 410 submittals in Procore.",
        "Worked with the engineering team every day.",
        "Head of People at a 200-person startup.",
        "Managed vendor relationships. Our team grew to nine.",  # the group is in the next sentence
    ],
)
def test_leading_things_or_working_beside_people_is_not(text: str) -> None:
    assert soft_skill_phrases(text) == []


def test_a_resume_shows_the_leadership_skill_the_job_asks_for(skill_matcher: VocabularyMatcher) -> None:
    core = NerCore(skills=skill_matcher, entities=NoEntities(), max_text_chars=10_000)
    resume = "Front office manager.\n- Lead a team of 22 front desk agents and night auditors.\n"
    kinds = [DocumentKind.RESUME, DocumentKind.JOB_DESCRIPTION]
    job = "Requirements\n- Proven leadership of a hotel front desk.\n"
    alone, job_read = core.extract_skills([resume, job], kinds)
    assert "Leadership" in {s.name for s in job_read.skills}
    assert "Leadership" not in {s.name for s in alone.skills}  # weak evidence: only for a job that asks
    guided, _ = core.extract_skills([resume, job], kinds, guided=True)
    shown = [s for s in guided.skills if s.name == "Leadership"]
    assert shown and "Lead a team" in shown[0].evidence
    # A job that asks for no leadership gets none from the resume.
    other, _ = core.extract_skills([resume, "Requirements\n- Opera PMS.\n"], kinds, guided=True)
    assert {s.name for s in other.skills}.isdisjoint({"Leadership", "Team Leadership", "Staff Supervision"})


@pytest.mark.parametrize(
    ("text", "skill", "phrase"),
    [
        ("- Wrote OAC meeting minutes and daily reports;", "Written Communication", "Wrote OAC meeting minutes"),
        ("I write help articles that reduce tickets.", "Written Communication", "write help articles"),
        ("Present the design roadmap to the executive team each quarter.", "Presentation Skills",
         "Present the design roadmap to the executive"),
        ("Coached agents one-on-one on quality.", "Coaching", "Coached agents"),
        ("Mentor two junior designers.", "Coaching", "Mentor two junior designers"),
        ("Drafted subpoenas and summarized medical records.", "Written Communication", "Drafted subpoenas"),
        ("- Handle guest escalations and service recovery;", "Conflict Resolution", "Handle guest escalations"),
        ("I can calm a caller down and still fix the claim.", "De-escalation", "calm a caller"),
    ],
)  # fmt: skip
def test_writing_presenting_and_coaching_are_read(text: str, skill: str, phrase: str) -> None:
    assert [text[a:b] for skills, a, b in soft_skill_phrases(text) if skill in skills] == [phrase]


@pytest.mark.parametrize("text", ["Wrote Python scripts and unit tests.", "Presented with a rash and a fever."])
def test_writing_code_or_a_presenting_symptom_is_not(text: str) -> None:
    assert soft_skill_phrases(text) == []
