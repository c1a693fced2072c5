"""The real VocabularyMatcher over the real vocabulary: normalisation, punctuation, case and context rules."""

from __future__ import annotations

import pytest

from services.ner.core import aggregate_skills, read_document
from services.ner.matcher import VocabularyMatcher, content_words, same_word, stem
from services.ner.model import DocumentKind
from services.ner.variants import singular_variant, strict_variants, term_variants


def names(matcher: VocabularyMatcher, text: str) -> list[str]:
    """Phrase hits as skills, before any context rule."""
    return [s.name for s in aggregate_skills([h for h in matcher.analyse([text])[0].hits if h.method == "phrase"])]


def read(matcher: VocabularyMatcher, text: str, kind: DocumentKind = DocumentKind.RESUME) -> list[str]:
    """Skills of a text in context (no entity model: no organisation spans)."""
    return [s.name for s in read_document(text, kind, matcher.analyse([text])[0], []).skills]


@pytest.mark.parametrize(
    ("text", "skill"),
    [
        ("We run k8s in production", "Kubernetes"),
        ("Strong JS and CSS", "JavaScript"),
        ("ML experience", "Machine Learning"),
        ("Postgres and Redis", "PostgreSQL"),
        ("CI / CD pipelines", "CI/CD"),
        ("Node.js services", "Node.js"),
        ("NodeJS services", "Node.js"),
        ("scikit learn models", "scikit-learn"),
        ("modern C++.", "C++"),
        ("iOS apps in Objective-C.", "Objective-C"),
        ("REST APIs", "RESTful APIs"),
        ("building data pipelines", "Data Pipelines"),
        ("PYTHON and sql", "Python"),
        ("administering medications safely", "Medication Administration"),
        ("GD&T per ASME Y14.5", "Geometric Dimensioning and Tolerancing"),
        ("tolerance stack-ups", "Tolerance Stack-up Analysis"),
    ],
)
def test_aliases_spellings_and_punctuation_normalise(skill_matcher: VocabularyMatcher, text: str, skill: str) -> None:
    assert skill in names(skill_matcher, text)


def test_longest_match_wins(skill_matcher: VocabularyMatcher) -> None:
    assert names(skill_matcher, "C++ and C#, not plain") == ["C++", "C#"]


@pytest.mark.parametrize(
    ("text", "present"),
    [
        ("Languages: Go, Python and Rust", True),
        ("Backend services written in Go", True),
        ("Go to the office twice a week", False),
        ("We go to conferences", False),
        ("Statistics in R.", True),
        ("Research and development (R&D) budget", False),
        ("Six years of writing Go for payment services", True),
        ("Go-live support for the new plant", False),
    ],
)
def test_guarded_short_names_need_a_skill_context(skill_matcher: VocabularyMatcher, text: str, present: bool) -> None:
    found = names(skill_matcher, text)
    assert (("Go" in found) or ("R" in found)) is present


def test_exact_case_terms_ignore_the_common_word(skill_matcher: VocabularyMatcher) -> None:
    assert names(skill_matcher, "a swift response; rust on the car; a spark of genius") == []
    assert names(skill_matcher, "Swift, Rust and Spark") == ["Swift", "Rust", "Apache Spark"]


def test_acronyms_match_case_sensitively(skill_matcher: VocabularyMatcher) -> None:
    assert "Basic Life Support" in names(skill_matcher, "BLS and CPR")
    assert names(skill_matcher, "the bls of the rn") == []


def test_generic_words_are_not_skills(skill_matcher: VocabularyMatcher) -> None:
    assert names(skill_matcher, "We value experience, skills, data, design, development and teams.") == []


def test_a_shared_acronym_takes_the_meaning_of_the_documents_field(skill_matcher: VocabularyMatcher) -> None:
    nursing = "Registered nurse on a telemetry unit: RN, BLS, ACLS, medication administration, wound care."
    software = "Mobile developer: RN and React, TypeScript, Redux, Swift and Kotlin for iOS and Android apps."
    assert "RN License" in read(skill_matcher, nursing)
    assert "React Native" not in read(skill_matcher, nursing)
    assert "React Native" in read(skill_matcher, software)
    assert "RN License" not in read(skill_matcher, software)


def test_field_gated_words_count_only_in_their_field(skill_matcher: VocabularyMatcher) -> None:
    sales = "Account executive: prospecting, cold calling, closing, quota attainment, Salesforce CRM."
    nursing = "Registered nurse: closing the loop with physicians; BLS, medication administration."
    assert "Contract Closing" in read(skill_matcher, sales)
    assert "Contract Closing" not in read(skill_matcher, nursing)


def test_a_name_with_a_number_is_not_read_from_prose_without_it(skill_matcher: VocabularyMatcher) -> None:
    text = "At least three years of contact center experience, leading or coaching others."
    prose = {h.name for h in skill_matcher.analyse([text])[0].hits if h.method == "semantic"}
    assert "8x8 Contact Center" not in prose
    assert "8x8 Contact Center" in read(skill_matcher, "Our reps work in 8x8 Contact Center every day.")


def test_role_nouns_are_not_skills(skill_matcher: VocabularyMatcher) -> None:
    assert read(skill_matcher, "You will work with product owners and scrum masters.") == []
    assert "Warehouse Management" not in read(skill_matcher, "You will work closely with warehouse supervisors.")


def test_prose_finds_a_skill_written_in_other_words(skill_matcher: VocabularyMatcher) -> None:
    text = "Registered nurse, BLS and ACLS. Administered IV medications to six patients per shift."
    hits = [h for h in skill_matcher.analyse([text])[0].hits if h.method == "semantic"]
    assert "Medication Administration" in {h.name for h in hits}


def test_occupation_titles_are_found(skill_matcher: VocabularyMatcher) -> None:
    occupations = skill_matcher.analyse(["Senior accountant with month-end close experience"])[0].occupations
    assert ("accountant", "accounting-finance") in {(name, field) for name, field, _ in occupations}


def test_offsets_point_at_the_mention(skill_matcher: VocabularyMatcher) -> None:
    text = "Deploys to k8s daily"
    (match,) = skill_matcher.analyse([text])[0].hits
    assert text[match.start_char : match.end_char] == "k8s"


def test_variants_cover_hyphen_js_and_plural() -> None:
    assert {"scikit learn", "scikitlearn"} <= set(term_variants("scikit-learn"))
    assert {"Nodejs", "Node js"} <= set(term_variants("Node.js"))
    assert "Data Pipeline" + "s" in term_variants("Data Pipeline")
    assert "Care Strategies" in term_variants("Care Strategy")


@pytest.mark.parametrize(
    ("name", "singular"),
    [
        ("Journal Entries", "Journal Entry"),
        ("Accruals", "Accrual"),
        ("Change Orders", "Change Order"),
        ("Punch Lists", "Punch List"),
        ("Windows", None),  # a one-word name reads in the singular only with a noun ending ("-als", "-ables")
        ("Sales", None),
        ("Escalations", None),
        ("Data Analytics", None),
        ("Business Process", None),
        ("Kubernetes", None),
    ],
)
def test_singular_of_a_plural_name(name: str, singular: str | None) -> None:
    assert singular_variant(name) == singular


def test_a_plural_name_matches_its_singular_unless_another_skill_owns_it(skill_matcher: VocabularyMatcher) -> None:
    assert "Accruals" in names(skill_matcher, "Post AP accrual journal entries during month-end close")
    assert "Journal Entries" in names(skill_matcher, "Posted each journal entry by day two")


def test_stems_and_content_words() -> None:
    assert stem("administered") == stem("Administration") == "admin"
    assert content_words("Medication Administration of the IV") == ["Medication", "Administration", "IV"]


def test_acronyms_match_their_plural(skill_matcher: VocabularyMatcher) -> None:
    assert "Individualized Education Programs" in names(skill_matcher, "Wrote measurable IEPs for 14 students")
    assert strict_variants("EKG") == ["EKG", "EKGs"]
    assert strict_variants("Swift") == ["Swift"]


def test_prose_words_must_be_forms_of_one_word() -> None:
    assert same_word("administered", "administration")
    assert same_word("teach", "teaching")
    assert same_word("plan", "planning")
    assert same_word("document", "documentation")
    assert not same_word("sales", "salesforce")
    assert not same_word("interaction", "interior")
    assert not same_word("engine", "engineer")
    assert not same_word("experience", "experimental")
    assert same_word("design", "designer")


def test_prose_needs_one_phrase_and_compound_order(skill_matcher: VocabularyMatcher) -> None:
    def prose(text: str) -> set[str]:
        return {h.name for h in skill_matcher.analyse([text])[0].hits if h.method == "semantic"}

    assert "Interior Design" not in prose("Strong interaction design for mobile apps.")
    assert "Sound Design" not in prose("Senior Product Designer, Puget Sound")
    assert "Sales Management" not in prose("Pipeline management in Salesforce.")
    assert "Medication Administration" in prose("Administer medications safely.")


def test_a_phrase_that_only_spells_part_of_a_prose_name_gives_way(skill_matcher: VocabularyMatcher) -> None:
    hits = {h.name for h in skill_matcher.analyse(["Prepare for depositions and trials."])[0].hits}
    assert "Deposition Preparation" in hits and "Depositions" not in hits
    hits = {h.name for h in skill_matcher.analyse(["Administer medications, including IV medications."])[0].hits}
    assert {"Medication Administration", "IV Therapy"} <= hits


def test_short_words_and_their_forms_share_a_stem(skill_matcher: VocabularyMatcher) -> None:
    # A stem cut from the inflected word would split "plan" from "planning" and "family" from "families".
    assert stem("plan") == stem("planning") == stem("plans")
    assert stem("care") == stem("caring")
    assert stem("copy") == stem("copies")
    assert stem("class") == stem("classes") != stem("clasp")
    assert same_word("manage", "managing") and same_word("family", "families")
    assert not same_word("use", "useful")
    prose = {h.name for h in skill_matcher.analyse(["You will plan your territory each quarter."])[0].hits}
    assert "Territory Planning" in prose
    prose = {h.name for h in skill_matcher.analyse(["Communicate regularly with families."])[0].hits}
    assert "Parent Communication" in prose


def test_coordinated_modifiers_share_their_head(skill_matcher: VocabularyMatcher) -> None:
    found = names(skill_matcher, "Strong written and verbal communication skills.")
    assert {"Written Communication", "Verbal Communication"} <= set(found)
    # A verb after the conjunction starts a new clause: "insurance" and "billing" share nothing.
    assert "Medical Billing" not in names(skill_matcher, "Verified insurance and handled billing questions.")
