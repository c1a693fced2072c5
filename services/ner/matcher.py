"""The vocabulary matcher of the NER service: skill names and aliases, skills phrased in prose, occupation titles.

- Phrases: a spaCy PhraseMatcher over every name and alias (and derived spellings). Terms match on lower-cased
  tokens, except acronyms and other exact-case terms ("RN", "BLS", "Swift"), which match their exact spelling,
  and guarded terms ("Go", "R"), which also need a list or technical context. A term several skills share
  ("RN", "PCA") yields one hit that carries every candidate; the document's field picks one later.
- Prose: a skill written in other words ("administered IV medications" for Medication Administration) is found
  when every content word of one of its names appears, by stem, within a short window of one sentence
  (`window` tokens, calibrated on the evaluation's dev split). These hits have method "semantic".
- Occupations: ESCO occupation titles ("registered nurse", "accountant") found in the text, for the field vote.

Built once per process and shared; spaCy objects are not documented as thread-safe, so calls hold a lock.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import spacy
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from services.common.taxonomy import Occupation, Skill, Taxonomy, load_occupations, load_taxonomy
from services.ner.coordination import coordinated_spans
from services.ner.core import GENERIC_WORDS
from services.ner.guarded import in_skill_context
from services.ner.model import SkillMatch, SkillRef, TextAnalysis
from services.ner.soft_evidence import READINGS, soft_skill_phrases
from services.ner.variants import singular_variant, strict_variants, term_variants
from services.ner.words import ProseText, content_words, same_word, stem

log = logging.getLogger(__name__)

DEFAULT_PROSE_WINDOW = 3
# For a skill the job asks for, a resume sentence that holds every word of its name shows it: the job's own
# wording settled what the words mean, so the short window that guards unprompted reading is widened.
GUIDED_PROSE_WINDOW = 8
# Punctuation that separates a phrase from the next: prose words on both sides of it are not one phrase
# ("Design, Puget Sound"; "Engineer - Platform").
PHRASE_BREAKS = frozenset({",", ":", "(", ")", "|", "\u2013", "\u2014", "/"})
# A name whose head is an action noun may be written verb first ("administer medications" for Medication
# Administration); other names are compounds whose words do not swap ("experience with user" is no User
# Experience).
ACTION_ENDINGS = ("tion", "sion", "ment", "ing", "ance", "ysis")
# Action nouns without such an ending: "cared for 6 patients" is Patient Care, "care for wounds" Wound Care. They
# swap only for a skill the job asks for: unprompted, "wound care and pressure injury prevention" would read as
# Preventive Care.
ACTION_NOUNS = frozenset({"care"})


@dataclass(frozen=True)
class _ProseName:
    """A multi-word name for prose matching: its distinct stems and words in name order, and whether the words
    may come in another order."""

    skill: Skill
    stems: tuple[str, ...]
    words: tuple[str, ...]
    swappable: bool
    # Whether the words may swap when the job asks for the skill (an action noun such as "care" heads the name).
    swappable_if_asked: bool


@dataclass(frozen=True)
class _Term:
    skills: tuple[Skill, ...]
    text: str
    exact: bool
    guarded: bool
    gated: bool


def blank_tokenizer() -> Any:
    """spaCy's English tokenizer, with single letters before a period split off ("written in R.")."""
    nlp = spacy.blank("en")
    suffixes = [*(nlp.Defaults.suffixes or ()), r"(?<=[A-Za-z])(?<![A-Za-z.][A-Za-z])\."]
    tokenizer: Any = nlp.tokenizer
    tokenizer.suffix_search = spacy.util.compile_suffix_regex(suffixes).search
    tokenizer.rules = {key: value for key, value in tokenizer.rules.items() if not re.fullmatch(r"[A-Za-z]\.", key)}
    return nlp


class VocabularyMatcher:
    """Finds vocabulary skills (by phrase and in prose) and occupation titles in texts."""

    def __init__(
        self, taxonomy: Taxonomy, occupations: Iterable[Occupation] = (), *, prose_window: int = DEFAULT_PROSE_WINDOW
    ) -> None:
        self._nlp = blank_tokenizer()
        self._lock = threading.Lock()
        self.prose_window = prose_window
        self._terms: dict[int, _Term] = {}
        lower_terms, orth_terms = self._collect_terms(taxonomy)
        self._lower = PhraseMatcher(self._nlp.vocab, attr="LOWER")
        self._orth = PhraseMatcher(self._nlp.vocab, attr="ORTH")
        self._add(self._lower, lower_terms)
        self._add(self._orth, orth_terms)
        self.pattern_count = len(lower_terms) + len(orth_terms)
        self._occupation_matcher = PhraseMatcher(self._nlp.vocab, attr="LOWER")
        self._occupation_titles = PhraseMatcher(self._nlp.vocab, attr="ORTH")
        self._occupations: dict[int, Occupation] = {}
        self._add_occupations([o for o in occupations if o.field])
        self._prose_index = self._build_prose_index(taxonomy)
        self._soft_refs: dict[tuple[str, ...], list[SkillRef]] = {}
        for reading in READINGS:
            found = [s for s in (taxonomy.lookup(name) for name in reading.skills) if s is not None]
            self._soft_refs[reading.skills] = [SkillRef(s.name, s.skill_id, s.field, s.category) for s in found]
        log.info("vocabulary matcher: %d skills, %d patterns", len(taxonomy), self.pattern_count)

    @classmethod
    def from_files(cls, skills: Path, occupations: Path | None = None, **kwargs: Any) -> VocabularyMatcher:
        """Builds the matcher from data/skills.jsonl and (when present) data/occupations.jsonl."""
        found = load_occupations(occupations) if occupations is not None and occupations.exists() else []
        return cls(load_taxonomy(skills), found, **kwargs)

    def _collect_terms(self, taxonomy: Taxonomy) -> tuple[list[tuple[str, _Term]], list[tuple[str, _Term]]]:
        owners: dict[tuple[str, bool], list[Skill]] = {}
        flags: dict[tuple[str, bool], tuple[bool, bool, bool]] = {}
        # Singulars of plural names, kept only where no skill spells that singular itself.
        singulars: dict[str, tuple[Skill, bool, bool]] = {}
        for skill in taxonomy.skills:
            strict_terms = {*skill.exact_case, *skill.guarded}
            gated_terms = set(skill.field_gated)
            # ESCO-derived skills match only by their own name and only in their field: their names are
            # derived automatically and some are common phrases.
            terms = skill.terms if skill.source != "esco" else (skill.name,)
            for term in terms:
                strict = term in strict_terms
                gated = term in gated_terms or skill.source == "esco"
                single = None if strict else singular_variant(term)
                if single is not None:
                    singulars.setdefault(single.casefold(), (skill, term in skill.guarded, gated))
                for variant in strict_variants(term) if strict else term_variants(term):
                    key = (variant if strict else variant.casefold(), strict)
                    if not strict and key[0] in GENERIC_WORDS:
                        continue
                    if not strict and key[0] in STOP_WORDS and term not in gated_terms:
                        continue
                    bucket = owners.setdefault(key, [])
                    if skill not in bucket:
                        bucket.append(skill)
                    old = flags.get(key, (strict, term in skill.guarded, gated))
                    flags[key] = (strict, old[1] or term in skill.guarded, old[2] and gated)
        for text, (skill, guarded, gated) in singulars.items():
            if (text, False) not in owners and text not in GENERIC_WORDS and text not in STOP_WORDS:
                owners[(text, False)] = [skill]
                flags[(text, False)] = (False, guarded, gated)
        lower: list[tuple[str, _Term]] = []
        orth: list[tuple[str, _Term]] = []
        for (text, strict), skills in owners.items():
            exact, guarded, gated = flags[(text, strict)]
            entry = _Term(skills=tuple(skills), text=text, exact=exact, guarded=guarded, gated=gated)
            (orth if strict else lower).append((text, entry))
        return lower, orth

    def _add(self, matcher: PhraseMatcher, terms: list[tuple[str, _Term]]) -> None:
        docs = list(self._nlp.tokenizer.pipe(text for text, _ in terms))
        for doc, (text, entry) in zip(docs, terms, strict=True):
            label = f"{'E' if entry.exact else 'L'}\x1f{text}"
            key = self._nlp.vocab.strings.add(label)
            self._terms[key] = entry
            matcher.add(label, [doc])

    def _add_occupations(self, occupations: list[Occupation]) -> None:
        """Occupation titles and their plurals. One-word titles match only in lower case, so the tool "Chef" or
        a sentence-initial "Judge" is no title."""
        names = [o.name for o in occupations] + [o.name + "s" for o in occupations]
        docs = list(self._nlp.tokenizer.pipe(names))
        for doc, occupation in zip(docs, occupations + occupations, strict=True):
            if len(doc) == 1 and (doc[0].lower_ in STOP_WORDS or doc[0].lower_ in GENERIC_WORDS):
                continue
            label = f"O\x1f{doc.text.casefold()}"
            key = self._nlp.vocab.strings.add(label)
            self._occupations.setdefault(key, occupation)
            (self._occupation_titles if len(doc) == 1 else self._occupation_matcher).add(label, [doc])

    @staticmethod
    def _build_prose_index(taxonomy: Taxonomy) -> dict[str, list[_ProseName]]:
        """Stems of every curated multi-word name and alias, indexed by their rarest stem."""
        entries: list[_ProseName] = []
        for skill in taxonomy.skills:
            if skill.source != "curated":
                continue
            for term in skill.terms:
                # A name with a number in it ("8x8 Contact Center", "ISO 9001 Auditing") is a product, a version or
                # a standard: its content words without the number name something else.
                if any(ch.isdigit() for ch in term):
                    continue
                words = content_words(term)
                if 2 <= len(words) <= 4 and term not in skill.exact_case:
                    by_stem = {stem(w): w.casefold() for w in reversed(words)}
                    stems = tuple(dict.fromkeys(stem(w) for w in words))
                    head = words[-1].casefold()
                    swappable = head.endswith(ACTION_ENDINGS)
                    entries.append(
                        _ProseName(skill, stems, tuple(by_stem[s] for s in stems), swappable, head in ACTION_NOUNS)
                    )
        frequency = Counter(s for entry in entries for s in entry.stems)
        index: dict[str, list[_ProseName]] = {}
        for entry in entries:
            if len(entry.stems) >= 2:
                index.setdefault(min(entry.stems, key=lambda s: frequency[s]), []).append(entry)
        return index

    def analyse(self, texts: Sequence[str]) -> list[TextAnalysis]:
        """Phrase hits, prose hits and occupation titles of each text, in input order."""
        with self._lock:
            return [self._analyse_one(doc) for doc in self._nlp.tokenizer.pipe(texts)]

    def _analyse_one(self, doc: Doc) -> TextAnalysis:
        phrases, nested = self._phrase_hits(doc)
        phrases += self._coordinated_hits(doc, {(h.skill_id, h.start_char) for h in phrases})
        covered = {(h.skill_id, i) for h in phrases for i in range(h.start_char, h.end_char)}
        read = ProseText.of(doc)  # one pass over the tokens for both windows
        prose = [h for h in self._prose_hits(doc, read, self.prose_window) if (h.skill_id, h.start_char) not in covered]
        known = {h.skill_id for h in [*phrases, *prose]}
        spread = [h for h in self._prose_hits(doc, read, GUIDED_PROSE_WINDOW, asked=True) if h.skill_id not in known]
        phrases = [h for h in phrases if not any(_part_of(h, p) for p in prose)]
        occupations: Counter[str] = Counter()
        fields: dict[str, str] = {}
        for key, start, _ in [*self._occupation_matcher(doc), *self._occupation_titles(doc)]:
            occupation = self._occupations[key]
            # A title in the first lines (the ad's or the resume's headline) says the most.
            occupations[occupation.name] += 2 if doc[start].idx < 200 else 1
            fields[occupation.name] = occupation.field
        return TextAnalysis(
            hits=sorted([*phrases, *prose], key=lambda h: h.start_char),
            occupations=[(name, fields[name], count) for name, count in occupations.most_common()],
            held=[h for h in [*nested, *spread, *self._soft_hits(doc)] if h.skill_id not in known],
        )

    def _soft_hits(self, doc: Doc) -> list[SkillMatch]:
        """Phrases that show soft skills ("Supervised 12 agents"), each offering every skill of its reading: a
        resume read for a job shows the one the job asks for (`services.ner.soft_evidence`)."""
        hits = []
        for names, start, end in soft_skill_phrases(doc.text):
            refs = self._soft_refs.get(names)
            if refs:
                first, *others = refs
                hits.append(
                    SkillMatch(first.name, first.category, doc.text[start:end], start, end, exact_case=False,
                               skill_id=first.skill_id, field=first.field, method="semantic",
                               alternatives=tuple(others))
                )  # fmt: skip
        return hits

    def _phrase_hits(self, doc: Doc) -> tuple[list[SkillMatch], list[SkillMatch]]:
        """Hits after overlaps are resolved, and the shorter terms that lost to a longer one."""
        spans: list[Span] = []
        for matcher in (self._lower, self._orth):
            for key, start, end in matcher(doc):
                entry = self._terms[key]
                if entry.guarded and not in_skill_context(doc, start, end):
                    continue
                spans.append(Span(doc, start, end, label=key))
        kept = filter_spans(spans)
        won = {(span.start, span.end) for span in kept}
        nested = [span for span in spans if (span.start, span.end) not in won]
        return [_term_hit(self._terms[s.label], s) for s in kept], [_term_hit(self._terms[s.label], s) for s in nested]

    def _coordinated_hits(self, doc: Doc, found: set[tuple[str, int]]) -> list[SkillMatch]:
        """Terms spelt by the first of two coordinated modifiers and their shared head ("written and verbal
        communication" -> Written Communication); guarded terms need their own context and are left out."""
        hits = []
        for key, start, end in coordinated_spans(doc, self._lower):
            entry = self._terms[key]
            if not entry.guarded and (entry.skills[0].skill_id, doc[start].idx) not in found:
                hits.append(_term_hit(entry, doc[start:end], exact_case=False))
        return hits

    def _prose_hits(self, doc: Doc, text: ProseText, window: int, *, asked: bool = False) -> list[SkillMatch]:
        """Prose names whose every word stands within `window` content words of its rarest one, in one
        sentence; `text` is the doc read for prose (`ProseText.of`)."""
        tokens = text.words
        hits: list[SkillMatch] = []
        seen: set[tuple[str, int]] = set()
        for position, (_, anchor, number, _) in enumerate(tokens):
            entries = self._prose_index.get(anchor)
            if not entries:
                continue
            nearby = [
                (i, s, w) for i, s, n, w in tokens[max(0, position - window) : position + window + 1] if n == number
            ]
            near_stems = {s for _, s, _ in nearby}
            for entry in entries:
                skill, stems = entry.skill, entry.stems
                if not near_stems.issuperset(stems):
                    continue
                found = _prose_tokens(text, nearby, entry, asked=asked)
                if found is None:
                    continue
                start, end = min(found), max(found) + 1
                if (skill.skill_id, start) in seen:
                    continue
                seen.add((skill.skill_id, start))
                span = doc[start:end]
                hits.append(
                    SkillMatch(
                        name=skill.name,
                        category=skill.category,
                        text=span.text,
                        start_char=span.start_char,
                        end_char=span.end_char,
                        exact_case=False,
                        skill_id=skill.skill_id,
                        field=skill.field,
                        # Prose is loose evidence: it counts only for skills of the document's own field.
                        gated=True,
                        method="semantic",
                        score=round(len(stems) / (end - start), 3),
                    )
                )
        return hits


def _term_hit(entry: _Term, span: Span, *, exact_case: bool | None = None) -> SkillMatch:
    """A phrase hit of a vocabulary term over a span of the text."""
    first, *others = entry.skills
    doc = span.doc
    return SkillMatch(
        name=first.name,
        category=first.category,
        text=span.text,
        start_char=span.start_char,
        end_char=span.end_char,
        exact_case=(entry.exact or span.text == entry.text) if exact_case is None else exact_case,
        guarded=entry.guarded,
        skill_id=first.skill_id,
        field=first.field,
        gated=entry.gated,
        alternatives=tuple(SkillRef(s.name, s.skill_id, s.field, s.category) for s in others),
        next_word=doc[span.end].lower_ if span.end < len(doc) else "",
    )


def _part_of(hit: SkillMatch, prose: SkillMatch) -> bool:
    """Whether a phrase hit only spells part of a longer prose hit's name ("depositions" inside "Prepare for
    depositions", read as Deposition Preparation): as with overlapping phrases, the longer reading wins. A phrase
    with a word of its own ("IV medications" inside "Administer oral and IV medications") stays."""
    if hit.skill_id == prose.skill_id or not (prose.start_char <= hit.start_char and hit.end_char <= prose.end_char):
        return False
    if hit.end_char - hit.start_char >= prose.end_char - prose.start_char:
        return False
    words = content_words(prose.name)
    own = content_words(hit.text)
    return bool(own) and all(any(same_word(w.casefold(), n.casefold()) for n in words) for w in own)


def _prose_tokens(
    text: ProseText, nearby: list[tuple[int, str, str]], entry: _ProseName, *, asked: bool = False
) -> list[int] | None:
    """The tokens that spell a prose name, or None when they do not read as that name: a word only shares a
    stem with the name's word, a phrase break lies between them, or compound words come in another order. For a
    skill the job asks for (`asked`), a verb written before a list of its objects is one phrase ("Administer oral,
    IM and IV medications"), and an action noun such as "care" may come first ("care for 6 patients")."""
    first: list[int] = []
    for name_stem, word in zip(entry.stems, entry.words, strict=True):
        matches = [i for i, s, w in nearby if s == name_stem and same_word(w, word)]
        if not matches:
            return None
        first.append(matches[0])
    found = first
    start, end = min(found), max(found) + 1
    texts, spaces = text.texts, text.spaces
    verb_first = first != sorted(first)
    breaks = PHRASE_BREAKS - {","} if asked and verb_first else PHRASE_BREAKS
    if any(texts[k] in breaks or (texts[k] == "-" and spaces[k - 1]) for k in range(start, end)):
        return None
    if verb_first and not (entry.swappable or (asked and entry.swappable_if_asked)):
        return None
    return found


def read_taxonomy_json(path: Path) -> list[dict[str, Any]]:
    """The raw JSON objects of a vocabulary file (for tools and tests that check the file itself)."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
