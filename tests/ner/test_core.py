"""Unit tests of the NER core logic with small fake backends (the logic around the models, not the models)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from services.common.errors import InvalidArgument
from services.ner.core import (
    MAX_BATCH_TEXTS,
    NerCore,
    aggregate_skills,
    choose_meaning,
    combined_confidence,
    merge_entities,
    read_document,
    truncate,
    validate_texts,
)
from services.ner.model import DocumentKind, EntitySpan, SkillMatch, SkillRef, TextAnalysis
from services.ner.recent import RecentTexts


def hit(name: str, text: str, start: int, *, exact: bool = True, guarded: bool = False) -> SkillMatch:
    return SkillMatch(name, "Cat", text, start, start + len(text), exact_case=exact, guarded=guarded)


class RecordingFinder:
    """Finds every occurrence of "Kubernetes" or "k8s"; records the texts it was given."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def analyse(self, texts: Sequence[str]) -> list[TextAnalysis]:
        return [TextAnalysis(hits=hits) for hits in self.find(texts)]

    def find(self, texts: Sequence[str]) -> list[list[SkillMatch]]:
        self.calls.append(list(texts))
        out = []
        for text in texts:
            hits = []
            for term in ("Kubernetes", "k8s"):
                at = text.find(term)
                while at >= 0:
                    hits.append(hit("Kubernetes", term, at))
                    at = text.find(term, at + 1)
            out.append(hits)
        return out


class FixedEntities:
    source = "fake_model"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def entities(self, texts: Sequence[str]) -> list[list[EntitySpan]]:
        self.calls.append(list(texts))
        return [[EntitySpan(t[:4], "ORG", 0, 4, self.source)] for t in texts]


def make_core(limit: int = 1000) -> tuple[NerCore, RecordingFinder]:
    finder = RecordingFinder()
    return NerCore(skills=finder, entities=FixedEntities(), max_text_chars=limit), finder


def test_empty_batch_is_invalid_argument_on_texts() -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_texts([])
    assert [v.field for v in caught.value.violations] == ["texts"]


def test_each_blank_text_is_named_by_index() -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_texts(["ok", "", "  \n\t", "fine"])
    assert [v.field for v in caught.value.violations] == ["texts[1]", "texts[2]"]


def test_too_many_texts_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="at most"):
        validate_texts(["x"] * (MAX_BATCH_TEXTS + 1))


def test_truncate_keeps_short_text_whole() -> None:
    assert truncate("short text", 100) == ("short text", False)


def test_truncate_cuts_at_whitespace_near_the_limit() -> None:
    text = "word " * 1000
    head, cut = truncate(text, 2003)
    assert cut
    assert len(head) <= 2003
    assert head.endswith("word")


def test_truncate_cuts_hard_when_there_is_no_whitespace() -> None:
    head, cut = truncate("x" * 500, 100)
    assert cut and head == "x" * 100


def test_aggregate_dedupes_counts_and_sorts_by_count_then_position() -> None:
    hits = [
        hit("Python", "Python", 0),
        hit("Kubernetes", "k8s", 10),
        hit("Kubernetes", "Kubernetes", 20),
        hit("Kubernetes", "k8s", 40),
        hit("SQL", "SQL", 5),
    ]
    skills = aggregate_skills(hits)
    assert [s.name for s in skills] == ["Kubernetes", "Python", "SQL"]
    assert skills[0].mentions == ("k8s", "Kubernetes")
    assert skills[0].count == 3


def test_aggregate_drops_generic_words_whatever_the_backend_says() -> None:
    skills = aggregate_skills([hit("Data Engineering", "data", 0), hit("SQL", "SQL", 10)])
    assert [s.name for s in skills] == ["SQL"]


def test_confidence_grows_with_mentions_and_depends_on_match_kind() -> None:
    one = combined_confidence([hit("Go", "Go", 0)])
    two = combined_confidence([hit("Go", "Go", 0), hit("Go", "Go", 9)])
    lower = combined_confidence([hit("Go", "go", 0, exact=False)])
    guarded = combined_confidence([hit("Go", "Go", 0, guarded=True)])
    assert guarded < lower < one < two <= 0.99


def test_merge_prefers_taxonomy_span_over_model_entity_inside_it() -> None:
    model = [EntitySpan("Docker", "PERSON", 10, 16, "m"), EntitySpan("Google", "ORG", 30, 36, "m")]
    merged = merge_entities(model, [hit("Docker", "Docker", 10)])
    assert [(e.text, e.label, e.source) for e in merged] == [
        ("Docker", "SKILL", "taxonomy"),
        ("Google", "ORG", "m"),
    ]


def test_extract_skills_flags_and_truncates_long_texts_before_matching() -> None:
    core, finder = make_core(limit=50)
    long_text = "Kubernetes " * 20
    docs = core.extract_skills(["We use k8s and Kubernetes", long_text])
    assert [d.truncated for d in docs] == [False, True]
    assert len(finder.calls[0][1]) <= 50
    assert docs[0].skills[0].count == 2
    assert docs[1].skills[0].count == 4


def test_extract_entities_keeps_input_order_and_adds_skill_spans() -> None:
    core, _ = make_core()
    docs = core.extract_entities(["Acme uses k8s", "Beta has none"])
    assert [[e.label for e in d.entities] for d in docs] == [["ORG", "SKILL"], ["ORG"]]


def test_extract_rejects_a_blank_text_in_the_batch() -> None:
    core, finder = make_core()
    with pytest.raises(InvalidArgument) as caught:
        core.extract_skills(["k8s", " "])
    assert caught.value.violations[0].field == "texts[1]"
    assert finder.calls == []


def test_core_refuses_a_non_positive_limit() -> None:
    with pytest.raises(ValueError):
        NerCore(skills=RecordingFinder(), entities=FixedEntities(), max_text_chars=0)


def test_entities_then_skills_of_the_same_texts_run_the_models_once() -> None:
    finder = RecordingFinder()
    entities = FixedEntities()
    core = NerCore(skills=finder, entities=entities, max_text_chars=1000)
    core.extract_entities(["Acme runs k8s", "Beta too"])
    docs = core.extract_skills(["Acme runs k8s", "Beta too"], [DocumentKind.RESUME, DocumentKind.JOB_DESCRIPTION])
    assert [d.skills[0].name for d in docs if d.skills] == ["Kubernetes"]
    assert finder.calls == [["Acme runs k8s", "Beta too"]]
    assert entities.calls == [["Acme runs k8s", "Beta too"]]


def test_without_a_cache_every_call_runs_the_models() -> None:
    finder = RecordingFinder()
    core = NerCore(skills=finder, entities=FixedEntities(), max_text_chars=1000, cache_size=0)
    core.extract_entities(["k8s"])
    core.extract_skills(["k8s"])
    assert len(finder.calls) == 2


def shared(text: str, start: int) -> SkillMatch:
    """ "RN": React Native (software) or a Registered Nurse licence (healthcare)."""
    return SkillMatch(
        "React Native",
        "Mobile",
        text,
        start,
        start + len(text),
        skill_id="skillbridge:react-native",
        field="software",
        alternatives=(SkillRef("RN License", "skillbridge:rn-license", "healthcare", "Nursing"),),
    )


def test_a_shared_term_takes_the_meaning_of_the_field_or_none() -> None:
    assert choose_meaning(shared("RN", 0), "healthcare").name == "RN License"  # type: ignore[union-attr]
    assert choose_meaning(shared("RN", 0), "data").name == "React Native"  # type: ignore[union-attr]
    assert choose_meaning(shared("RN", 0), "legal") is None
    gated = SkillMatch("Contract Closing", "Sales", "closing", 0, 7, field="sales", gated=True)
    assert choose_meaning(gated, "sales") is gated
    assert choose_meaning(gated, "healthcare") is None


def test_a_shared_field_gated_term_is_read_only_in_one_of_its_fields() -> None:
    """ "Discovery" names the legal skill outright, but in a design ad ("from discovery to launch") it is neither
    that nor a sales discovery call."""
    discovery = SkillMatch(
        "Discovery",
        "Legal",
        "discovery",
        0,
        9,
        skill_id="skillbridge:discovery",
        field="legal",
        gated=True,
        alternatives=(SkillRef("Discovery Calls", "skillbridge:discovery-calls", "sales", "Sales"),),
    )
    assert choose_meaning(discovery, "design") is None
    assert choose_meaning(discovery, "legal").name == "Discovery"  # type: ignore[union-attr]
    assert choose_meaning(discovery, "sales").name == "Discovery Calls"  # type: ignore[union-attr]


def test_read_document_uses_organisations_sections_and_wording() -> None:
    text = "About us\nFastLane 3PL ships goods.\nRequirements\nTMS and SQL.\nNice to have\nPython is a plus.\n"
    hits = [
        SkillMatch("Third-Party Logistics", "SC", "3PL", text.index("3PL"), text.index("3PL") + 3, field="x"),
        SkillMatch("Transportation Management Systems", "SC", "TMS", text.index("TMS"), text.index("TMS") + 3),
        SkillMatch("SQL", "DB", "SQL", text.index("SQL"), text.index("SQL") + 3),
        SkillMatch("Python", "PL", "Python", text.index("Python"), text.index("Python") + 6),
    ]
    org = EntitySpan("FastLane 3PL", "ORG", text.index("FastLane"), text.index("3PL") + 3, "m")
    doc = read_document(text, DocumentKind.JOB_DESCRIPTION, TextAnalysis(hits=hits), [org])
    found = {s.name: s for s in doc.skills}
    assert set(found) == {"Transportation Management Systems", "SQL", "Python"}
    assert found["SQL"].required and not found["Python"].required
    assert found["SQL"].evidence == "TMS and SQL."
    resume = read_document(text, DocumentKind.RESUME, TextAnalysis(hits=hits), [])
    assert all(s.required for s in resume.skills) and "Third-Party Logistics" in {s.name for s in resume.skills}


def test_recent_texts_keeps_the_most_recently_used() -> None:
    recent: RecentTexts[int] = RecentTexts(2)
    recent.put("a", 1)
    recent.put("b", 2)
    assert recent.get("a") == 1  # "a" is now the most recent
    recent.put("c", 3)
    assert (recent.get("a"), recent.get("b"), recent.get("c"), len(recent)) == (1, None, 3, 2)


def test_a_job_ad_reports_the_narrower_skill_and_not_a_degree_subject() -> None:
    text = "Requirements\n- Drafting discovery requests and responses in discovery.\n- Bachelor's degree in finance.\n"

    def at(name: str, mention: str) -> SkillMatch:
        return SkillMatch(name, "Cat", mention, text.index(mention), text.index(mention) + len(mention))

    hits = [
        at("Discovery Requests and Responses", "discovery requests and responses"),
        at("Discovery", "discovery."),
        at("Finance", "finance"),
    ]
    job = read_document(text, DocumentKind.JOB_DESCRIPTION, TextAnalysis(hits=hits), [])
    assert [s.name for s in job.skills] == ["Discovery Requests and Responses"]
    # A resume keeps the broader skill: it is evidence for a job that asks for it.
    resume = read_document(text, DocumentKind.RESUME, TextAnalysis(hits=hits), [])
    assert {s.name for s in resume.skills} == {"Discovery Requests and Responses", "Discovery"}
