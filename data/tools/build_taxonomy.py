"""Reads the curated skill lists in data/tools/taxonomy/*.txt: the precise, hand-written half of the vocabulary.

`data/tools/build_vocabulary.py` merges what this returns with ESCO and writes data/skills.jsonl. Run on its own
(`.venv/bin/python data/tools/build_taxonomy.py`) it only checks the curated files and prints counts per field.

File syntax (every file):
- "@ Category = field" starts a category and names the field its skills belong to (see data/README.md);
- "Name | alias | alias" is one skill; the first term is the name users read;
- "~term" matches in its exact case only; terms written in capitals ("BLS", "GD&T", "ISO 13485") are exact-case
  without the mark; "*term" lets such a capital term match in any case;
- "!term" is guarded: exact case, and only in a list or technical context ("Go", "R");
- "=term" (before any other mark: "=~ObjC") is a synonym: an alias that looks like a product or a name of its own
  ("Cross-sell", "OLAP" spelt out) but is only another way of writing this skill, so build_vocabulary.py keeps it
  an alias instead of making it a skill of its own;
- "?term" is field-gated: it counts only in a text of the skill's own field ("Closing" in a sales ad,
  "Discovery" in a legal one, "Triage" in a nursing one), because elsewhere the word means something else; a
  gated term in capitals ("?EMS") is exact-case too;
- " > Name, Name" at the end of a line says which other skills this one covers ("Lean Six Sigma > Lean, Six Sigma");
- "#" starts a comment line.

It refuses a duplicate term (the same spelling for two skills), except an exact-case or field-gated term shared
by skills of different fields ("RN" is a nursing licence and React Native: the document's field decides), an alias
that is a stop word or a generic noise word (unless guarded or field-gated), and a relation to a skill that does
not exist.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from spacy.lang.en.stop_words import STOP_WORDS

SOURCE_DIR = Path(__file__).resolve().parent / "taxonomy"

# Words that are never a skill on their own: a curated alias may not be one of them (unless guarded).
GENERIC_WORDS = frozenset(
    {
        "ability", "analysis", "application", "applications", "business", "cloud", "code", "coding", "company",
        "computer", "computers", "data", "database", "databases", "design", "developer", "development",
        "engineer", "engineering", "environment", "experience", "framework", "frameworks", "knowledge",
        "language", "languages", "management", "platform", "platforms", "product", "products", "programming",
        "project", "projects", "security", "service", "services", "skill", "skills", "software", "solution",
        "solutions", "system", "systems", "team", "teams", "technology", "technologies", "testing", "tool",
        "tools", "web", "work", "years", "it", "sales", "operations", "research", "support", "strategy",
        "marketing", "finance", "network", "networking", "server", "servers", "model", "models", "api",
    }
)  # fmt: skip

ACRONYM = re.compile(r"^(?=(?:.*[A-Z]){2})[A-Z0-9&/.\- +]+$")


def is_acronym(term: str) -> bool:
    """Terms written in capitals ("BLS", "GD&T", "ISO 13485", "CI/CD"): exact case unless marked otherwise."""
    return bool(ACRONYM.match(term))


def slug(name: str) -> str:
    """A stable id fragment: "C++" -> "c-plus-plus", "GD&T" -> "gd-and-t"."""
    text = name.casefold().replace("+", "-plus").replace("#", "-sharp").replace("&", "-and-")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


@dataclass
class CuratedSkill:
    """One curated line: the name, its field and category, its terms and how each matches."""

    name: str
    category: str
    field: str
    aliases: list[str] = field(default_factory=list)
    exact_case: list[str] = field(default_factory=list)
    guarded: list[str] = field(default_factory=list)
    any_case: list[str] = field(default_factory=list)
    field_gated: list[str] = field(default_factory=list)
    covers: list[str] = field(default_factory=list)
    # Aliases marked "=": other ways of writing this skill that look like names of their own ("ObjC", "Cross-sell"),
    # kept as aliases where build_vocabulary would otherwise make them skills of their own.
    synonyms: list[str] = field(default_factory=list)
    where: str = ""

    @property
    def id(self) -> str:
        return f"skillbridge:{slug(self.name)}"

    @property
    def terms(self) -> list[str]:
        return [self.name, *self.aliases]


def parse_term(raw: str) -> tuple[str, str]:
    """Splits a term into its text and marker: "" (any case), "~" (exact case), "!" (guarded), "*" (any case
    even in capitals), "?" (field-gated). A leading "=" (a synonym, see `synonym_terms`) is not a marker here."""
    raw = raw.strip().removeprefix("=").strip()
    if raw[:1] in {"~", "!", "*", "?"}:
        return raw[1:].strip(), raw[0]
    return raw, ""


def is_synonym_term(raw: str) -> bool:
    """Whether a raw term is marked "=": another way of writing the skill, never made a skill of its own."""
    return raw.strip().startswith("=")


def read_curated(source_dir: Path = SOURCE_DIR) -> list[CuratedSkill]:
    """Every curated skill in file order; raises SystemExit listing every error found."""
    skills: list[CuratedSkill] = []
    errors: list[str] = []
    for path in sorted(source_dir.glob("*.txt")):
        category, field_name = "", ""
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            where = f"{path.name}:{number}"
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("@"):
                category, _, field_name = (part.strip() for part in line[1:].partition("="))
                if not field_name:
                    errors.append(f"{where}: category without '= field'")
                continue
            if not category:
                errors.append(f"{where}: skill before any '@ Category = field' line")
                continue
            body, _, covered = line.partition(" > ")
            parts = [part for part in body.split("|") if part.strip()]
            terms = [parse_term(part) for part in parts]
            skill = CuratedSkill(name=terms[0][0], category=category, field=field_name, where=where)
            skill.synonyms = [parse_term(part)[0] for part in parts if is_synonym_term(part)]
            skill.covers = [c.strip() for c in covered.split(",") if c.strip()]
            seen: set[str] = set()
            for text, marker in terms:
                if text.casefold() in seen:
                    continue  # the same term twice on one line, e.g. "~WordPress", "Full-cycle sales"
                seen.add(text.casefold())
                if text != skill.name:
                    skill.aliases.append(text)
                if marker == "!":
                    skill.guarded.append(text)
                elif marker == "?":
                    # field-gated; an acronym keeps its exact case as well ("?CDC": change data capture, in a data
                    # text and written in capitals)
                    skill.field_gated.append(text)
                    if is_acronym(text):
                        skill.exact_case.append(text)
                elif marker == "~" or (marker != "*" and is_acronym(text)):
                    skill.exact_case.append(text)
                elif marker == "*":
                    skill.any_case.append(text)
            skills.append(skill)
    errors += check(skills)
    if errors:
        raise SystemExit("curated taxonomy has errors:\n" + "\n".join(errors))
    return skills


def check(skills: list[CuratedSkill]) -> list[str]:
    """Duplicate terms, generic aliases and dangling relations."""
    errors: list[str] = []
    owners: dict[str, list[CuratedSkill]] = {}
    names = {s.name.casefold() for s in skills}
    for skill in skills:
        strict = {t.casefold() for t in (*skill.exact_case, *skill.guarded)}
        gated = {t.casefold() for t in skill.field_gated}
        for term in skill.terms:
            key = term.casefold()
            if key not in strict | gated and (key in STOP_WORDS or key in GENERIC_WORDS):
                errors.append(f"{skill.where}: {term!r} is a stop word or generic word; mark it '!' or drop it")
            for other in owners.get(key, []):
                if term == skill.name and other.name.casefold() == key:
                    errors.append(f"{skill.where}: the name {term!r} is also the name of a skill at {other.where}")
                    continue
                sharable = (*other.exact_case, *other.guarded, *other.field_gated)
                shared_ok = key in strict | gated and any(t.casefold() == key for t in sharable)
                if not (shared_ok and other.field != skill.field):
                    errors.append(f"{skill.where}: {term!r} already belongs to {other.name!r} ({other.where})")
            owners.setdefault(key, []).append(skill)
        errors += [f"{skill.where}: covers unknown skill {c!r}" for c in skill.covers if c.casefold() not in names]
        errors += [f"{skill.where}: covers itself" for c in skill.covers if c.casefold() == skill.name.casefold()]
    return errors


def main() -> None:
    skills = read_curated()
    counts = Counter(s.field for s in skills)
    sys.stderr.write(f"{len(skills)} curated skills: " + ", ".join(f"{f} {n}" for f, n in counts.most_common()) + "\n")


if __name__ == "__main__":
    main()
