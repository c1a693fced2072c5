"""Checks of the curated taxonomy file data/skills.jsonl itself."""

from __future__ import annotations

from spacy.lang.en.stop_words import STOP_WORDS

from services.common.settings import REPO_ROOT
from services.common.taxonomy import load_taxonomy
from services.ner.backends import load_term_flags
from services.ner.core import NOISE_TERMS

TAXONOMY_PATH = REPO_ROOT / "data" / "skills.jsonl"


def test_taxonomy_has_at_least_1500_unique_canonical_skills() -> None:
    names = [skill.name.casefold() for skill in load_taxonomy(TAXONOMY_PATH).skills]
    assert len(names) >= 1500
    assert len(set(names)) == len(names)


def test_every_skill_has_a_category_and_there_are_many_categories() -> None:
    skills = load_taxonomy(TAXONOMY_PATH).skills
    assert all(skill.category for skill in skills)
    assert len({skill.category for skill in skills}) >= 15


def test_no_term_is_shared_by_two_skills() -> None:
    owner: dict[str, str] = {}
    clashes = []
    for skill in load_taxonomy(TAXONOMY_PATH).skills:
        for term in {t.casefold() for t in (skill.name, *skill.aliases)}:
            if owner.setdefault(term, skill.name) != skill.name:
                clashes.append((term, owner[term], skill.name))
    assert clashes == []


def test_no_alias_is_a_plain_stop_word_or_noise_word() -> None:
    _, guarded = load_term_flags(TAXONOMY_PATH)
    bad = [
        term
        for skill in load_taxonomy(TAXONOMY_PATH).skills
        for term in (skill.name, *skill.aliases)
        if term not in guarded and (term.casefold() in STOP_WORDS or term.casefold() in NOISE_TERMS)
    ]
    assert bad == []


def test_flagged_terms_are_real_terms_of_the_taxonomy() -> None:
    exact, guarded = load_term_flags(TAXONOMY_PATH)
    terms = {t for skill in load_taxonomy(TAXONOMY_PATH).skills for t in (skill.name, *skill.aliases)}
    assert exact | guarded <= terms
    assert {"Go", "R", "C"} <= guarded


def test_well_known_aliases_resolve_to_their_canonical_skill() -> None:
    taxonomy = load_taxonomy(TAXONOMY_PATH)
    expected = {
        "k8s": "Kubernetes",
        "JS": "JavaScript",
        "ML": "Machine Learning",
        "Postgres": "PostgreSQL",
        "GCP": "Google Cloud Platform",
        "Golang": "Go",
        "PySpark": "Apache Spark",
        "sklearn": "scikit-learn",
        "CICD": "CI/CD",
    }
    assert {alias: taxonomy.canonical(alias) for alias in expected} == expected
