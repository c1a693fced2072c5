"""The real SkillMatcher over the real taxonomy: normalisation, punctuation, case and context rules."""

from __future__ import annotations

import pytest

from services.ner.backends import SkillMatcher, term_variants
from services.ner.core import aggregate_skills


def names(matcher: SkillMatcher, text: str) -> list[str]:
    return [skill.name for skill in aggregate_skills(matcher.find([text])[0])]


@pytest.mark.parametrize(
    ("text", "skill"),
    [
        ("We run k8s in production", "Kubernetes"),
        ("Strong JS and CSS", "JavaScript"),
        ("ML experience", "Machine Learning"),
        ("Postgres and Redis", "PostgreSQL"),
        ("CI / CD pipelines", "CI/CD"),
        ("ci/cd", "CI/CD"),
        ("Node.js services", "Node.js"),
        ("NodeJS services", "Node.js"),
        ("scikit learn models", "scikit-learn"),
        ("modern C++.", "C++"),
        ("iOS apps in Objective-C.", "Objective-C"),
        ("REST APIs", "RESTful APIs"),
        ("building data pipelines", "Data Pipelines"),
        ("PYTHON and sql", "Python"),
    ],
)
def test_aliases_spellings_and_punctuation_normalise(skill_matcher: SkillMatcher, text: str, skill: str) -> None:
    assert skill in names(skill_matcher, text)


def test_longest_match_wins(skill_matcher: SkillMatcher) -> None:
    assert names(skill_matcher, "C++ and C#, not plain") == ["C++", "C#"]


@pytest.mark.parametrize(
    ("text", "present"),
    [
        ("Languages: Go, Python and Rust", True),
        ("Backend services written in Go", True),
        ("Go programming for 3 years", True),
        ("Go to the office twice a week", False),
        ("We go to conferences", False),
        ("Statistics in R.", True),
        ("Python, R and SQL", True),
        ("Research and development (R&D) budget", False),
    ],
)
def test_guarded_short_names_need_a_skill_context(skill_matcher: SkillMatcher, text: str, present: bool) -> None:
    found = names(skill_matcher, text)
    assert (("Go" in found) or ("R" in found)) is present


def test_exact_case_terms_ignore_the_common_word(skill_matcher: SkillMatcher) -> None:
    assert names(skill_matcher, "a swift response; rust on the car; a spark of genius") == []
    assert names(skill_matcher, "Swift, Rust and Spark") == ["Swift", "Rust", "Apache Spark"]


def test_noise_words_are_not_skills(skill_matcher: SkillMatcher) -> None:
    assert names(skill_matcher, "We value experience, skills, data, design, development and teams.") == []


def test_offsets_point_at_the_mention(skill_matcher: SkillMatcher) -> None:
    text = "Deploys to k8s daily"
    (match,) = skill_matcher.find([text])[0]
    assert text[match.start_char : match.end_char] == "k8s"


def test_variants_cover_hyphen_js_and_plural() -> None:
    assert {"scikit learn", "scikitlearn"} <= set(term_variants("scikit-learn"))
    assert {"Nodejs", "Node js"} <= set(term_variants("Node.js"))
    assert "Data Pipelines" not in term_variants("Data Pipelines")[1:]
    assert "Data Pipeline" + "s" in term_variants("Data Pipeline")
