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
    assert context.inside_organisation("General Assembly", 8, 16, [(0, 16)])
    assert not context.inside_organisation("Salesforce", 0, 10, [(0, 10)])  # the whole name: the skill itself
    assert context.is_role_noun("Product Owner", "")
    assert context.is_role_noun("scrum", "masters")
    assert not context.is_role_noun("Scrum Master", "certification")
    assert not context.is_role_noun("Salesforce", "administrator")
    assert context.is_role_noun("customer success", "leaders")  # colleagues of the candidate, not a skill
    assert not context.is_role_noun("customer service", "roles")  # "3 years in customer service roles" asks for it
    assert context.names_a_product("budgeting", "tools")
    assert not context.names_a_product("SEO", "tools")


def test_a_standard_with_its_version_or_level_is_not_an_organisation() -> None:
    text = "checked against WCAG 2.1 AA and ISO 9001:2015 at General Assembly 2.0"
    span = lambda phrase: (text.index(phrase), text.index(phrase) + len(phrase))  # noqa: E731
    wcag, iso = span("WCAG 2.1 AA"), span("ISO 9001:2015")
    assert not context.inside_organisation(text, wcag[0], wcag[0] + 4, [wcag])  # "WCAG" in "WCAG 2.1 AA"
    assert not context.inside_organisation(text, iso[0], iso[0] + 8, [iso])  # "ISO 9001" in "ISO 9001:2015"
    ga = span("General Assembly 2.0")
    assert context.inside_organisation(text, ga[0] + 8, ga[0] + 16, [ga])  # "General" is a name, not a version


def test_credential_lines_are_not_organisations() -> None:
    assert context.names_a_credential("BLS Provider")
    assert context.names_a_credential("California RN License")
    assert not context.names_a_credential("General Assembly")
    assert not context.names_a_credential("FastLane 3PL")


@pytest.mark.parametrize(
    ("sentence", "blurb"),
    [
        ("Relocation support to Oslo, 25 days of holiday and a pension.", True),
        ("Total compensation of 320,000 USD with equity.", True),
        ("Our platform team keeps 300 services running on Kubernetes.", True),
        ("We are looking for experience with Kubernetes.", False),
        ("We need Python, SQL, Kubernetes, Kafka and Terraform.", False),
        ("We're hiring a nurse with telemetry and IV therapy.", False),
        ("We'd love to see Figma prototypes.", False),
        ("Knowledge of Salesforce reporting and sales compensation modelling is a bonus.", False),
        ("First articles are measured on our CMM.", False),
        ("Experience with Epic would be a big plus.", False),
    ],
)
def test_pay_benefit_and_about_us_sentences(sentence: str, blurb: bool) -> None:
    text = f"Data Engineer\n\n{sentence}\n"
    sentences = context.Sentences(text)
    assert context.is_blurb_sentence(sentences, context.split_sections(text), text.index(sentence) + 2) is blurb


@pytest.mark.parametrize(
    "line",
    [
        "Benefits: medical and dental, a 401(k), and discounted spa treatments for you and your family.",
        "We offer a base salary plus commission, an employee stock ownership plan and a 401(k).",
    ],
)
def test_a_pay_line_after_the_last_list_is_not_asked(line: str) -> None:
    text = f"Preferred\n- Spanish.\n- Microsoft Excel.\n\n{line}\n"
    sentences = context.Sentences(text)
    assert context.is_blurb_sentence(sentences, context.split_sections(text), text.index(line) + 12)


def test_a_benefit_sentence_under_requirements_is_still_asked() -> None:
    text = "Requirements\n- Payroll software and benefits administration.\n"
    sentences = context.Sentences(text)
    assert not context.is_blurb_sentence(sentences, context.split_sections(text), text.index("Payroll"))


def test_why_company_heading_opens_a_blurb() -> None:
    assert context.heading_kind("Why Fjord") == "blurb"
    assert context.heading_kind("Why join us") == "blurb"
    assert context.heading_kind("Why Kanban Home Goods") == "blurb"


def spans(text: str, *terms: str) -> list[tuple[int, int]]:
    return [(text.index(t), text.index(t) + len(t)) for t in terms]


def test_examples_in_parentheses_or_after_such_as_stand_for_the_skill_before() -> None:
    text = "Configuration management (Ansible, Puppet or Chef) and Terraform."
    assert context.examples_of_earlier(
        text, spans(text, "Configuration management", "Ansible", "Puppet", "Chef", "Terraform")
    ) == {1, 2, 3}
    text = "Value-based selling training such as Command of the Message."
    assert context.examples_of_earlier(text, spans(text, "Value-based selling", "Command of the Message")) == {1}
    text = "hospital vendor credentialing (such as Vendormate or Reptrax)"
    assert context.examples_of_earlier(text, spans(text, "vendor credentialing", "Vendormate", "Reptrax")) == {1, 2}


def test_one_item_in_parentheses_is_not_a_list_of_examples() -> None:
    text = "functional behavior assessments (FBAs) and scheduling (Primavera P6 preferred)"
    found = spans(text, "functional behavior assessments", "FBAs", "scheduling", "Primavera P6")
    assert context.examples_of_earlier(text, found) == set()


def test_the_opening_paragraph_under_the_title_asks_nothing_unless_it_addresses_the_candidate() -> None:
    text = (
        "Enterprise Account Executive\n\nLattice Ledger builds data infrastructure for banks. As an account "
        "executive, you will own complex sales cycles.\n\nMust have\n- Salesforce\n\nBenefits: a pension.\n"
    )
    sentences = context.Sentences(text)
    sections = context.split_sections(text)
    assert context.is_blurb_sentence(sentences, sections, text.index("data infrastructure"))
    assert not context.is_blurb_sentence(sentences, sections, text.index("complex sales"))
    assert not context.is_blurb_sentence(sentences, sections, text.index("Salesforce"))
    assert context.opening_paragraph("Title\n\nOne paragraph only.") == (0, 0)


def test_a_broader_skill_gives_way_to_a_narrower_one_in_its_sentence() -> None:
    text = "Handle discovery, including drafting discovery requests and responses.\nDiscovery matters too."
    sentences = context.Sentences(text)
    hits = [
        ("Discovery", text.index("discovery")),
        ("Discovery Requests and Responses", text.index("discovery requests")),
        ("Discovery", text.index("Discovery matters")),
    ]
    assert context.broader_beside_narrower(sentences, hits) == {0}
    assert context.names_part_of("Change Orders", "Change Order Pricing")
    assert not context.names_part_of("A/B Testing", "Hypothesis Testing")
    assert not context.names_part_of("CIPP/US", "CIPP Certification")


@pytest.mark.parametrize(
    ("line", "mention", "degree"),
    [
        ("- Bachelor's degree in accounting or finance.", "finance", True),
        ("- A construction management degree or an estimating certificate", "construction management", True),
        ("- B.S. in Mechanical or Biomedical Engineering and 3+ years of product design", "Biomedical", True),
        ("- B.S. in Mechanical or Biomedical Engineering and 3+ years of product design", "product", False),
        ("Bachelor's in construction management, civil engineering or a related field", "civil engineering", True),
        ("BSc Computer Science, De Lisle University, 2019", "Computer Science", True),
        ("Degree in finance with experience in SQL", "SQL", False),
        ("Strong SQL and Python; a degree is a plus", "Python", False),
    ],
)
def test_the_subject_of_a_degree_is_not_a_skill(line: str, mention: str, degree: bool) -> None:
    start = line.index(mention)
    assert context.is_degree_subject(line, start, start + len(mention)) is degree


def test_the_paragraph_under_a_title_company_and_place_header_describes_the_company() -> None:
    text = (
        "Senior Product Designer\nFigment Labs | Remote (US/Canada)\n\nFigment Labs builds software for HVAC and "
        "plumbing businesses. You will lead design for our dispatchers.\n\nRequirements\n- Figma\n"
    )
    sentences = context.Sentences(text)
    sections = context.split_sections(text)
    assert context.is_blurb_sentence(sentences, sections, text.index("HVAC"))
    assert not context.is_blurb_sentence(sentences, sections, text.index("lead design"))
    assert not context.is_blurb_sentence(sentences, sections, text.index("Figma"))
    # A paragraph of sentences under the title is the opening itself, not a header.
    assert not context.is_header_block("Title\nWe build tools for banks. We hire engineers.")


@pytest.mark.parametrize(
    ("line", "blurb"),
    [
        ("We offer relocation support, tuition reimbursement and a 401(k) with a 6% match.", True),
        ("Total compensation of 320,000 USD on-target earnings, equity and excellent benefits.", True),
        ("- Benefits administration and payroll software.", False),
        ("We need someone who knows benefits administration.", False),
    ],
)
def test_pay_prose_that_the_last_section_runs_into_asks_nothing(line: str, blurb: bool) -> None:
    text = f"Data Engineer\n\nRequirements\n- SQL\n\nPreferred\n- Python\n\n{line}\n"
    sentences = context.Sentences(text)
    assert context.is_blurb_sentence(sentences, context.split_sections(text), text.index(line) + 3) is blurb


def test_teachers_inspectors_and_other_occupations_are_role_nouns() -> None:
    assert context.is_role_noun("special education", "teacher")
    assert context.is_role_noun("special educators", "")
    assert context.is_role_noun("quality", "inspectors")
    assert not context.is_role_noun("Special Education", "certification")


def test_a_mention_between_a_determiner_and_a_team_noun_names_a_department() -> None:
    text = "Partner with our customer success team. Experience in agile teams."
    assert context.names_a_department(text, text.index("customer success"), "team")
    assert not context.names_a_department(text, text.index("agile"), "teams")
    assert not context.names_a_department(text, text.index("customer success"), "metrics")


def test_own_role_is_a_singular_role_on_a_title_line_or_after_i_am_a() -> None:
    header = "Senior Product Designer | Seattle, WA\n"
    assert context.names_own_role(header, 7, 23, "Product Designer", "|")
    prose = "For six years I have worked as a product designer in healthcare and fintech startups, mostly remote.\n"
    start = prose.index("product designer")
    assert context.names_own_role(prose, start, start + 16, "product designer", "in")
    plural = "I paired every day with two product designers on a shared roadmap for the whole product area.\n"
    start = plural.index("product designers")
    assert not context.names_own_role(plural, start, start + 17, "product designers", "on")
    other = "Every week I reviewed mockups that a product designer from the agency sent over to our team.\n"
    start = other.index("product designer")
    assert not context.names_own_role(other, start, start + 16, "product designer", "from")
