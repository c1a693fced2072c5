"""Context rules of skill extraction: field vote, headings, optional wording, evidence, role and product nouns."""

from __future__ import annotations

import pytest

from services.ner import context


def test_field_comes_from_occupations_and_skills_and_ties_give_none() -> None:
    assert context.detect_field(["healthcare"], [("registered nurse", "healthcare", 1)]) == (
        "healthcare",
        ["registered nurse"],
    )
    assert context.detect_field(["software", "software", "general"], [])[0] == "software"
    assert context.detect_field(["sales", "legal"], [])[0] == ""
    assert context.detect_field(["general", "general"], [])[0] == ""


def test_field_groups() -> None:
    assert "data" in context.group_of("software")
    assert context.group_of("legal") == frozenset({"legal"})


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("Requirements", "required"),
        ("What you'll need:", "required"),
        ("## Must have", "required"),
        ("Nice to have", "optional"),
        ("Preferred qualifications:", "optional"),
        ("Bonus points", "optional"),
        ("About us", "blurb"),
        ("Benefits:", "blurb"),
        ("What we offer", "blurb"),
        ("We need someone who knows SQL and Python.", None),
        ("Provide direct patient care for an assignment of five adult patients on days", None),
    ],
)
def test_heading_kinds(line: str, kind: str | None) -> None:
    assert context.heading_kind(line) == kind


def test_sections_cover_the_text_in_order() -> None:
    text = "Intro line\nRequirements\n- SQL\nNice to have\n- Go\n"
    sections = context.split_sections(text)
    assert [s.kind for s in sections] == ["plain", "required", "optional"]
    assert context.section_at(sections, text.index("SQL")) == "required"
    assert context.section_at(sections, text.index("Go")) == "optional"


@pytest.mark.parametrize(
    ("sentence", "optional"),
    [
        ("Experience with Epic is a plus.", True),
        ("Ideally you bring Tableau.", True),
        ("Spanish speakers are strongly encouraged to apply.", True),
        ("You have five years of SQL.", False),
    ],
)
def test_optional_wording_in_the_sentence(sentence: str, optional: bool) -> None:
    text = f"Requirements\n{sentence}\n"
    sentences = context.Sentences(text)
    assert context.is_optional(sentences, context.split_sections(text), text.index(sentence) + 3) is optional


def test_evidence_quotes_the_sentence_and_cuts_a_long_one() -> None:
    text = "First line.\n- Administer IV medications safely.\nLast."
    start = text.index("IV")
    assert context.evidence(context.Sentences(text), start, start + 2) == "Administer IV medications safely."
    long = "word " * 100 + "Kubernetes " + "word " * 100
    quote = context.evidence(context.Sentences(long), long.index("Kubernetes"), long.index("Kubernetes") + 10)
    assert "Kubernetes" in quote and len(quote) <= 163 and quote.startswith("…")


def test_organisation_role_and_product_rules() -> None:
    assert context.inside_organisation(9, 17, [(0, 17)])  # "Assembly" in "General Assembly"
    assert not context.inside_organisation(0, 10, [(0, 10)])  # the whole name: "Salesforce" itself
    assert context.is_role_noun("Product Owner", "")
    assert context.is_role_noun("scrum", "masters")
    assert not context.is_role_noun("Scrum Master", "certification")
    assert not context.is_role_noun("Salesforce", "administrator")
    assert context.names_a_product("budgeting", "tools")
    assert not context.names_a_product("SEO", "tools")
