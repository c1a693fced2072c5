"""Guided coverage: the resume's passages, which passage shows a job skill, and how compare_skills reports it,
with hand-made vectors (the real model is in test_service.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.common.errors import InvalidArgument
from services.common.taxonomy import Skill, Taxonomy
from services.similarity import core, text_coverage
from services.similarity.core import MatchKind, SkillInput
from services.similarity.text_coverage import (
    MAX_PASSAGES,
    PassageMatch,
    best_passages,
    cover_from_text,
    passages_sharing_a_stem,
    resume_passages,
    validate_resume_text,
    word_stems,
)
from tests.similarity.table_embed import TableEmbed

# Axes: 0 patient education, 1 medications, 2 kubernetes, 3 docker, 4 anything else.
VECTORS = {
    "patient education": [1.0, 0.0, 0.0, 0.0, 0.0],
    "patient teaching": [0.8, 0.6, 0.0, 0.0, 0.0],
    "medication administration": [0.0, 1.0, 0.0, 0.0, 0.0],
    "kubernetes": [0.0, 0.0, 1.0, 0.0, 0.0],
    "k8s": [0.0, 0.0, 1.0, 0.0, 0.0],
    "container orchestration": [0.0, 0.0, 1.0, 0.0, 0.0],
    "docker": [0.0, 0.0, 0.5, 0.87, 0.0],
    # cos with patient education 0.7, with patient teaching 0.92
    "taught patients and families how to manage their medications at home": [0.7, 0.6, 0.0, 0.0, 0.39],
    # cos with patient education 0.5
    "answered patient questions at the front desk": [0.5, 0.0, 0.0, 0.0, 0.87],
    # cos with kubernetes 0.65, with docker 0.95: it shows Docker, which the resume names
    "ran docker containers on two linux servers": [0.0, 0.0, 0.65, 0.76, 0.0],
    "registered nurse on a surgical unit": [0.0, 0.0, 0.0, 0.0, 1.0],
}

VOCABULARY = Taxonomy(
    [
        Skill("Patient Education", "Nursing", ("Patient teaching",), id="skillbridge:patient-education"),
        Skill("Medication Administration", "Nursing", (), id="skillbridge:medication-administration"),
        Skill("Kubernetes", "Cloud", ("k8s", "Container orchestration"), id="skillbridge:kubernetes"),
        Skill("Docker", "Cloud", (), id="skillbridge:docker"),
    ]
)

RESUME = """Registered Nurse on a surgical unit
- Taught patients and families how to manage their medications at home.
- Answered patient questions at the front desk; ran Docker containers on two Linux servers
"""


rows = TableEmbed(VECTORS).rows


def test_passages_are_sentences_and_clauses_of_three_words_or_more() -> None:
    text = (
        "Staff Nurse\n"
        "* Care for 5 to 6 adult patients per shift. Epic charting; teach discharge plans to families\n"
        "2) Skills: IV therapy, wound care, telemetry strips and EKG reading - night shift\n"
        "Care for 5 to 6 adult patients per shift\n"
    )
    assert resume_passages(text) == [
        "Care for 5 to 6 adult patients per shift",  # the bullet mark and the full stop go; the repeat counts once
        "teach discharge plans to families",  # after a semicolon; "Epic charting" is a name
        "telemetry strips and EKG reading",  # a clause of the list; "Skills", "IV therapy", "night shift" are names
    ]


def test_job_titles_and_headings_are_not_passages() -> None:
    text = (
        "Senior Data Engineer\n"  # a line of a few words: a title or a heading
        "Core Strengths and Certifications\n"
        "Senior Product Designer, Acme Health and Wellness Group, Boston\n"  # a clause ending in a role noun
        "Certifications: LEED Green Associate, OSHA 30-Hour Construction\n"
        "Led the data governance council for three business units.\n"
    )
    assert resume_passages(text) == [
        "Acme Health and Wellness Group",
        "LEED Green Associate",  # a credential, not a role
        "OSHA 30-Hour Construction",
        "Led the data governance council for three business units",
    ]


def test_passages_are_capped_for_a_very_long_text() -> None:
    text = "\n".join(f"Wrote report number {i} for the team" for i in range(MAX_PASSAGES + 40))
    passages = resume_passages(text)
    assert len(passages) == MAX_PASSAGES and passages[0] == "Wrote report number 0 for the team"


def test_word_stems_are_word_prefixes_without_function_words() -> None:
    assert word_stems("Taught patients and families how to manage their medications") == {
        "taug", "pati", "fami", "how", "mana", "medi"
    }  # fmt: skip
    assert word_stems("Listened to calls: QA, F&B, 3D-printed fixtures") == {
        "list", "call", "qa", "3d", "prin", "fixt"
    }  # fmt: skip  # single letters ("F", "B") tie a passage to nothing


def test_only_passages_sharing_a_stem_with_a_skills_names_are_compared() -> None:
    passages = [
        "registered nurse on a surgical unit",
        "taught patients and families how to manage their medications at home",
        "ran docker containers on two linux servers",
        "answered the phone for a busy clinic",  # shares only "for" / "a" with "Patient teaching for a family"
    ]
    skills = [["Patient Education", "Patient teaching for a family"], ["Kubernetes", "Container orchestration"]]
    assert passages_sharing_a_stem(passages, skills) == passages[1:3]  # "patients", "containers"
    assert passages_sharing_a_stem(passages, [["Kubernetes", "k8s"]]) == []
    assert passages_sharing_a_stem(passages, []) == []


def test_the_best_passage_above_the_floor_covers_the_skill_by_any_of_its_names() -> None:
    taught = "taught patients and families how to manage their medications at home"
    passages = ["answered patient questions at the front desk", taught]
    names = [rows("Patient Education"), rows("Patient Education", "Patient teaching")]
    # By its name the skill is closest to the second passage (0.70, the first 0.50); by its alias, 0.92.
    found = best_passages(names, rows(*passages), rows("Docker"), passages, floor=0.45)
    assert found == [
        PassageMatch(taught, pytest.approx(0.70, abs=0.01)),
        PassageMatch(taught, pytest.approx(0.92, abs=0.01)),
    ]
    found = best_passages(names, rows(*passages), rows("Docker"), passages, floor=0.75)
    assert found == [None, PassageMatch(taught, pytest.approx(0.92, abs=0.01))]


def test_a_passage_closer_to_a_skill_the_resume_names_is_that_skills_evidence() -> None:
    passages = ["ran docker containers on two linux servers"]
    k8s = [rows("Kubernetes")]
    # Kubernetes reaches 0.65 on the passage, but Docker (which the resume names) reaches 0.95 there.
    assert best_passages(k8s, rows(*passages), rows("Docker"), passages, floor=0.5) == [None]
    found = best_passages(k8s, rows(*passages), rows("Medication Administration"), passages, floor=0.5)
    assert found == [PassageMatch(passages[0], pytest.approx(0.65, abs=1e-3))]
    # A resume that names no skill has no rival at all.
    assert best_passages(k8s, rows(*passages), np.zeros((0, 5), np.float32), passages, floor=0.5) == found


async def test_cover_from_text_embeds_everything_in_one_call() -> None:
    embed = TableEmbed(VECTORS)
    found = await cover_from_text(
        [["Patient Education", "Patient teaching"], ["Kubernetes", "Container orchestration"]],
        ["Docker"],
        RESUME,
        embed=embed,
        floor=0.6,
    )
    assert found[0] is not None and found[0].passage.startswith("Taught patients and families")
    assert found[1] is None  # its only close passage shows Docker, which the resume names
    assert embed.calls == [
        ["Patient Education", "Patient teaching", "Kubernetes", "Container orchestration", "Docker",
         "Taught patients and families how to manage their medications at home",
         "Answered patient questions at the front desk", "ran Docker containers on two Linux servers"]
    ]  # fmt: skip  # "Registered Nurse on a surgical unit" shares no stem with the skills: not embedded


async def test_no_passage_means_no_model_call() -> None:
    embed = TableEmbed(VECTORS)
    assert await cover_from_text([["Kubernetes"]], [], "Staff Nurse\nEpic, Cerner", embed=embed, floor=0.1) == [None]
    # Passages, but none shares a stem with the skill's names.
    assert await cover_from_text([["Kubernetes", "k8s"]], [], RESUME, embed=embed, floor=0.1) == [None]
    assert embed.calls == []


def test_an_over_long_resume_text_is_refused_by_field() -> None:
    assert validate_resume_text("short enough", max_chars=20) == "short enough"
    with pytest.raises(InvalidArgument) as caught:
        validate_resume_text("x" * 21, max_chars=20)
    assert [v.field for v in caught.value.violations] == ["resume_text"]


async def compare(
    resume_text: str, threshold: float | None = None, text_calibrated: float | None = 0.6
) -> core.Comparison:
    return await core.compare_skills(
        [SkillInput("Docker", evidence="ran Docker containers on two Linux servers")],
        ["Patient Education", SkillInput("Kubernetes", required=False), "Docker"],
        threshold,
        embed=TableEmbed(VECTORS),
        default_threshold=0.5,
        calibrated_threshold=0.8,
        vocabulary=VOCABULARY,
        resume_text=resume_text,
        text_calibrated_threshold=text_calibrated,
    )


async def test_a_job_skill_the_resume_says_in_other_words_is_a_semantic_match_quoting_the_passage() -> None:
    result = await compare(RESUME)
    education, kubernetes, docker = result.best_matches
    assert education.kind is MatchKind.SEMANTIC and education.score == pytest.approx(0.92, abs=0.01)
    assert education.resume_skill == "Patient Education"
    assert education.evidence == "Taught patients and families how to manage their medications at home"
    assert kubernetes.kind is MatchKind.MISSING  # its only close passage shows Docker
    assert docker.kind is MatchKind.EXACT
    assert result.missing_skills == ["Kubernetes"]
    # Weights: 1 + 0.5 (nice to have) + 1; covered 0.92 + 1.0.
    assert result.overall_score == pytest.approx((education.score + 1.0) / 2.5)


async def test_without_text_or_cut_off_nothing_changes() -> None:
    for result in (await compare(""), await compare(RESUME, text_calibrated=None)):
        assert [m.kind for m in result.best_matches] == [MatchKind.MISSING, MatchKind.MISSING, MatchKind.EXACT]


async def test_the_callers_strictness_moves_the_passage_cut_off_and_one_asks_for_the_vocabulary_only() -> None:
    # Strictness 0.95 maps the passage cut-off 0.6 to 0.96: the 0.92 passage no longer counts.
    assert (await compare(RESUME, threshold=0.95)).missing_skills == ["Patient Education", "Kubernetes"]
    # Strictness 0.4 maps it to 0.48: Kubernetes is still not covered by Docker's passage.
    assert (await compare(RESUME, threshold=0.4)).missing_skills == ["Kubernetes"]
    assert (await compare(RESUME, threshold=1.0)).missing_skills == ["Patient Education", "Kubernetes"]


def test_the_module_has_no_grpc() -> None:
    source = Path(text_coverage.__file__).read_text()
    assert "import grpc" not in source and "from grpc" not in source
