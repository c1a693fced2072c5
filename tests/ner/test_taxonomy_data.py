"""Checks of the built vocabulary file data/skills.jsonl (and data/occupations.jsonl) and of its loader."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from services.common.settings import REPO_ROOT
from services.common.taxonomy import FIELDS, Skill, Taxonomy, load_occupations, load_taxonomy
from services.ner.core import GENERIC_WORDS

TAXONOMY_PATH = REPO_ROOT / "data" / "skills.jsonl"
OCCUPATIONS_PATH = REPO_ROOT / "data" / "occupations.jsonl"


@pytest.fixture(scope="module")
def vocabulary() -> Taxonomy:
    return load_taxonomy(TAXONOMY_PATH)


def test_names_and_ids_are_unique(vocabulary: Taxonomy) -> None:
    names = [skill.name.casefold() for skill in vocabulary.skills]
    ids = [skill.skill_id for skill in vocabulary.skills]
    assert len(names) >= 3000
    assert len(set(names)) == len(names)
    assert len(set(ids)) == len(ids)


def test_fifteen_fields_have_fifty_skills_each_and_every_field_is_known(vocabulary: Taxonomy) -> None:
    counts = Counter(skill.field for skill in vocabulary.skills)
    assert set(counts) <= set(FIELDS)
    assert sum(1 for field, n in counts.items() if field != "general" and n >= 50) >= 15
    curated = Counter(skill.field for skill in vocabulary.skills if skill.source == "curated")
    assert all(curated[field] >= 50 for field in FIELDS)


def test_a_term_is_shared_only_across_fields_and_only_when_exact_case_or_field_gated(vocabulary: Taxonomy) -> None:
    owners: dict[str, list[Skill]] = {}
    for skill in vocabulary.skills:
        for term in {t.casefold() for t in skill.terms}:
            owners.setdefault(term, []).append(skill)
    for term, skills in owners.items():
        if len(skills) == 1:
            continue
        assert len({s.field for s in skills}) == len(skills), term
        for skill in skills:
            strict = {t.casefold() for t in (*skill.exact_case, *skill.guarded, *skill.field_gated)}
            assert term in strict or skill.source == "esco", (term, skill.name)


def test_no_term_is_a_generic_word_unless_restricted(vocabulary: Taxonomy) -> None:
    bad = [
        term
        for skill in vocabulary.skills
        for term in skill.terms
        if term.casefold() in GENERIC_WORDS and term not in (*skill.guarded, *skill.exact_case, *skill.field_gated)
    ]
    assert bad == []


def test_relations_point_at_real_skills_and_lean_six_sigma_covers_lean(vocabulary: Taxonomy) -> None:
    ids = {skill.skill_id for skill in vocabulary.skills}
    assert all(set(skill.covers) <= ids for skill in vocabulary.skills)
    lss = vocabulary.lookup("Lean Six Sigma")
    lean = vocabulary.lookup("Lean Manufacturing")
    assert lss is not None and lean is not None
    assert vocabulary.covers(lss.skill_id, lean.skill_id)
    assert not vocabulary.covers(lean.skill_id, lss.skill_id)


def test_no_skill_covers_itself_even_through_a_chain(vocabulary: Taxonomy) -> None:
    """A cycle would make two skills cover each other: a specific gap hidden by the broad skill it belongs to."""
    assert [s.name for s in vocabulary.skills if s.skill_id in vocabulary.narrower(s.skill_id)] == []


def test_a_tool_listed_under_a_skill_is_its_own_skill_and_covers_it(vocabulary: Taxonomy) -> None:
    pyspark, spark = vocabulary.lookup("PySpark"), vocabulary.lookup("Apache Spark")
    mastercam, cam = vocabulary.lookup("Mastercam"), vocabulary.lookup("CAM Programming")
    assert pyspark is not None and spark is not None and mastercam is not None and cam is not None
    assert pyspark.name == "PySpark" and vocabulary.covers(pyspark.skill_id, spark.skill_id)
    assert mastercam.name == "Mastercam" and vocabulary.covers(mastercam.skill_id, cam.skill_id)
    aircall = vocabulary.lookup("Aircall")
    assert aircall is not None and aircall.covers == ()  # a rival product, not a cover


def test_acronyms_are_exact_case_and_shared_ones_name_every_meaning(vocabulary: Taxonomy) -> None:
    bls = vocabulary.lookup("BLS")
    assert bls is not None and "BLS" in bls.exact_case
    assert {s.name for s in vocabulary.lookup_all("RN")} == {"RN License", "React Native"}
    # a field-gated acronym ("?EMS" in the curated lists) keeps its exact case as well
    ems = vocabulary.lookup("EMS")
    assert ems is not None and "EMS" in ems.exact_case and "EMS" in ems.field_gated


def test_esco_skills_carry_their_uri_and_definition(vocabulary: Taxonomy) -> None:
    esco = [skill for skill in vocabulary.skills if skill.source == "esco"]
    assert len(esco) >= 1000
    assert all(s.id.startswith("http://data.europa.eu/esco/skill/") and s.description for s in esco)
    linked = [s for s in vocabulary.skills if s.source == "curated" and s.esco_uri]
    assert len(linked) >= 200


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("k8s", "Kubernetes"),
        ("Postgres", "PostgreSQL"),
        ("administering medications", "Medication Administration"),
        ("GAAP", "GAAP"),
        ("GD&T", "Geometric Dimensioning and Tolerancing"),
        ("scaling and root planing", "Dental Hygiene"),
        ("PBIS", "Positive Behavioral Interventions and Supports"),
        ("e-discovery", "E-Discovery"),
        ("ServSafe certification", "ServSafe"),
    ],
)
def test_well_known_aliases_resolve(vocabulary: Taxonomy, alias: str, name: str) -> None:
    assert vocabulary.canonical(alias) == name


def test_occupations_have_fields() -> None:
    occupations = load_occupations(OCCUPATIONS_PATH)
    assert len(occupations) >= 2500
    nurse = next(o for o in occupations if o.name == "specialist nurse")
    assert nurse.field == "healthcare"


def test_an_old_style_file_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "skills.jsonl"
    path.write_text('{"name": "Kubernetes", "category": "Cloud", "aliases": ["k8s"]}\n', encoding="utf-8")
    skill = load_taxonomy(path).lookup("k8s")
    assert skill is not None and skill.skill_id == "skillbridge:kubernetes"


def test_a_malformed_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "skills.jsonl"
    path.write_text('{"name": "A"}\n{"aliases": []}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="skill 2"):
        load_taxonomy(path)
