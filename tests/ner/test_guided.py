"""A resume read for a job ad (`ExtractSkills` with `read_for_job`): the job's skills are looked for in the resume
with the knowledge that the job asks for them."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from services.ner.core import NerCore, read_document
from services.ner.matcher import VocabularyMatcher
from services.ner.model import DocumentKind, EntitySpan, SkillMatch, TextAnalysis

AWS = "skillbridge:amazon-web-services"


class NoEntities:
    source = "none"

    def entities(self, texts: Sequence[str]) -> list[list[EntitySpan]]:
        return [[] for _ in texts]


def gated(name: str, text: str, mention: str, *, field: str = "sales") -> SkillMatch:
    start = text.index(mention)
    return SkillMatch(name, "Cat", mention, start, start + len(mention), skill_id=name, field=field, gated=True)


def test_a_field_gated_term_counts_in_a_resume_read_for_a_job_that_asks_for_it() -> None:
    text = "Nurse. Closing the month with the charge nurse."
    hits = [gated("Contract Closing", text, "Closing")]
    alone = read_document(text, DocumentKind.RESUME, TextAnalysis(hits=hits), [])
    assert alone.skills == []
    asked = read_document(text, DocumentKind.RESUME, TextAnalysis(hits=hits), [], asked=frozenset({"Contract Closing"}))
    assert [s.name for s in asked.skills] == ["Contract Closing"]
    assert asked.skills[0].evidence == "Closing the month with the charge nurse."
    # Only the skills the job asks for, and only in a resume.
    other = read_document(text, DocumentKind.RESUME, TextAnalysis(hits=hits), [], asked=frozenset({"SQL"}))
    assert other.skills == []
    job = read_document(
        text, DocumentKind.JOB_DESCRIPTION, TextAnalysis(hits=hits), [], asked=frozenset({"Contract Closing"})
    )
    assert job.skills == []


def test_held_readings_count_only_for_asked_skills_and_keep_the_exclusions() -> None:
    text = "Worked with product owners. Used AWS S3."
    held = [
        gated("AWS", text, "AWS", field="cloud-devops"),
        gated("Product Owner", text, "product owners", field="software"),
    ]
    analysis = TextAnalysis(hits=[], held=held)
    assert read_document(text, DocumentKind.RESUME, analysis, []).skills == []
    asked = read_document(text, DocumentKind.RESUME, analysis, [], asked=frozenset({"AWS", "Product Owner"}))
    assert [s.name for s in asked.skills] == ["AWS"]  # a role noun stays a role noun


def test_a_term_inside_a_longer_one_shows_the_skill_the_job_asks_for(skill_matcher: VocabularyMatcher) -> None:
    core = NerCore(skills=skill_matcher, entities=NoEntities(), max_text_chars=10_000)
    texts = ["Data scientist. Tools: Python, Docker, AWS S3.", "Requirements\n- Python and AWS.\n"]
    kinds = [DocumentKind.RESUME, DocumentKind.JOB_DESCRIPTION]
    alone, job = core.extract_skills(texts, kinds)
    assert AWS in {s.skill_id for s in job.skills} and AWS not in {s.skill_id for s in alone.skills}
    guided, guided_job = core.extract_skills(texts, kinds, guided=True)
    assert AWS in {s.skill_id for s in guided.skills}
    assert guided_job == job  # the job ad is read as before


@pytest.mark.parametrize(
    ("resume", "job_ad", "skill"),
    [
        # A prose name spread over a sentence.
        (
            "Commercial counsel. I draft and negotiate software license and SaaS subscription agreements.",
            "Requirements\n- Strong contract drafting.\n",
            "Contract Drafting",
        ),
        # The verb governs the whole list, so the commas between it and its object do not split the phrase (they
        # still do in name order, and in a resume read on its own).
        (
            "Staff nurse.\n- Administer oral, subcutaneous, IM and IV medications, including insulin.\n",
            "Requirements\n- Safe medication administration.\n",
            "Medication Administration",
        ),
        # "Care" before its object.
        (
            "Staff nurse.\n- Care for 5 to 6 adult patients per shift on a surgical unit.\n",
            "Requirements\n- Compassionate patient care.\n",
            "Patient Care",
        ),
    ],
)
def test_a_looser_prose_reading_shows_only_a_skill_the_job_asks_for(
    skill_matcher: VocabularyMatcher, resume: str, job_ad: str, skill: str
) -> None:
    core = NerCore(skills=skill_matcher, entities=NoEntities(), max_text_chars=10_000)
    kinds = [DocumentKind.RESUME, DocumentKind.JOB_DESCRIPTION]
    alone, job = core.extract_skills([resume, job_ad], kinds)
    assert skill in {s.name for s in job.skills}
    assert skill not in {s.name for s in alone.skills}
    guided, _ = core.extract_skills([resume, job_ad], kinds, guided=True)
    assert skill in {s.name for s in guided.skills}


def test_the_writers_own_role_shows_the_practice_it_is_named_for(skill_matcher: VocabularyMatcher) -> None:
    """ "Senior Product Designer" heading a resume shows the Product Design a job asks for; product designers the
    writer worked with do not, and unprompted a role is no skill."""
    core = NerCore(skills=skill_matcher, entities=NoEntities(), max_text_chars=10_000)
    job = "Requirements\n- Strong product design portfolio.\n"
    kinds = [DocumentKind.RESUME, DocumentKind.JOB_DESCRIPTION]
    own = "Senior Product Designer | Seattle, WA\nI have shipped B2B software for seven years.\n"
    others = "Front-end engineer.\nI built the React app together with two product designers and a researcher.\n"
    alone, _ = core.extract_skills([own, job], kinds)
    assert "Product Design" not in {s.name for s in alone.skills}
    guided, _ = core.extract_skills([own, job], kinds, guided=True)
    assert "Product Design" in {s.name for s in guided.skills}
    guided, _ = core.extract_skills([others, job], kinds, guided=True)
    assert "Product Design" not in {s.name for s in guided.skills}
