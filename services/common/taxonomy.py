"""The skill vocabulary (data/skills.jsonl) and the occupation list (data/occupations.jsonl), and their loaders.

A skill line (see data/README.md for every key):

    {"id": "skillbridge:medication-administration", "name": "Medication Administration", "field": "healthcare",
     "category": "Healthcare & Nursing", "aliases": ["Administering medications", "Med administration"],
     "esco_uri": "http://data.europa.eu/esco/skill/...", "description": "Administer prescribed medication ...",
     "covers": ["skillbridge:..."], "source": "curated"}

`covers` lists the ids of narrower skills this one covers ("Lean Six Sigma" covers "Lean Manufacturing"): the only
relation a matcher may use to say a broader skill covers a narrower one. Older files with only name, category
and aliases still load.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# The occupational fields of the vocabulary; "general" holds skills of every field (soft skills, office tools,
# languages, project management).
FIELDS: tuple[str, ...] = (
    "software", "data", "cloud-devops", "healthcare", "accounting-finance", "marketing", "sales",
    "human-resources", "supply-chain-logistics", "mechanical-manufacturing", "civil-construction", "education",
    "legal", "design", "customer-service", "hospitality", "general",
)  # fmt: skip


@dataclass(frozen=True)
class Skill:
    """A skill of the vocabulary: the name users read, how texts spell it, and where it comes from."""

    name: str
    category: str
    aliases: tuple[str, ...] = ()
    id: str = ""
    field: str = ""
    description: str = ""
    esco_uri: str = ""
    covers: tuple[str, ...] = ()
    exact_case: tuple[str, ...] = ()
    guarded: tuple[str, ...] = ()
    any_case: tuple[str, ...] = ()
    field_gated: tuple[str, ...] = ()
    source: str = "curated"
    labels: tuple[str, ...] = ()

    @property
    def skill_id(self) -> str:
        """The id to report: the vocabulary id, else a slug of the name."""
        return self.id or "skillbridge:" + re.sub(r"[^a-z0-9]+", "-", self.name.casefold()).strip("-")

    @property
    def terms(self) -> tuple[str, ...]:
        """The name and every alias."""
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Occupation:
    """An ESCO occupation with the field it belongs to."""

    id: str
    name: str
    field: str
    description: str = ""


@dataclass
class Taxonomy:
    """All skills, with lookups by id and by any spelling, and the `covers` relation."""

    skills: list[Skill]
    _by_term: dict[str, list[Skill]] = field(default_factory=dict, repr=False)
    _by_id: dict[str, Skill] = field(default_factory=dict, repr=False)
    _narrower: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for skill in self.skills:
            self._by_id.setdefault(skill.skill_id, skill)
            for term in {t.casefold() for t in skill.terms}:
                self._by_term.setdefault(term, []).append(skill)

    def lookup(self, term: str) -> Skill | None:
        """The skill that `term` names (case-insensitive; a curated skill before an ESCO one), or None."""
        found = self._by_term.get(term.strip().casefold())
        return found[0] if found else None

    def lookup_all(self, term: str) -> list[Skill]:
        """Every skill that `term` names: more than one for a term shared across fields ("RN", "PCA")."""
        return list(self._by_term.get(term.strip().casefold(), ()))

    def get(self, skill_id: str) -> Skill | None:
        """The skill with this id, or None."""
        return self._by_id.get(skill_id)

    def canonical(self, term: str) -> str:
        """The canonical name of `term` if the vocabulary knows it, else the term as given."""
        skill = self.lookup(term)
        return skill.name if skill else term.strip()

    def narrower(self, skill_id: str) -> frozenset[str]:
        """Ids of every skill that `skill_id` covers, directly or through other covered skills."""
        if skill_id not in self._narrower:
            seen: set[str] = set()
            stack = list(self._by_id[skill_id].covers) if skill_id in self._by_id else []
            while stack:
                current = stack.pop()
                if current not in seen:
                    seen.add(current)
                    stack.extend(self._by_id[current].covers if current in self._by_id else ())
            self._narrower[skill_id] = frozenset(seen)
        return self._narrower[skill_id]

    def covers(self, broader_id: str, narrower_id: str) -> bool:
        """True when the vocabulary says the broader skill covers the narrower one (never by name similarity)."""
        return narrower_id in self.narrower(broader_id)

    def in_field(self, field_name: str) -> list[Skill]:
        """The skills of one field."""
        return [skill for skill in self.skills if skill.field == field_name]

    def __len__(self) -> int:
        return len(self.skills)


def _strings(raw: dict[str, object], key: str) -> tuple[str, ...]:
    value = raw.get(key, ())
    if not isinstance(value, list | tuple):
        raise TypeError(f"{key} must be a list")
    return tuple(str(item) for item in value)


def skill_from_json(raw: dict[str, object]) -> Skill:
    """One skill from its JSON object; raises KeyError/TypeError on a malformed one."""
    return Skill(
        name=str(raw["name"]),
        category=str(raw.get("category", "")),
        aliases=_strings(raw, "aliases"),
        id=str(raw.get("id", "")),
        field=str(raw.get("field", "")),
        description=str(raw.get("description", "")),
        esco_uri=str(raw.get("esco_uri", "")),
        covers=_strings(raw, "covers"),
        exact_case=_strings(raw, "exact_case"),
        guarded=_strings(raw, "guarded"),
        any_case=_strings(raw, "any_case"),
        field_gated=_strings(raw, "field_gated"),
        source=str(raw.get("source", "curated")),
        labels=_strings(raw, "labels"),
    )


def _read_jsonl(path: Path, what: str) -> Iterable[dict[str, object]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                if not isinstance(raw, dict):
                    raise TypeError("not an object")
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: bad {what} entry: {exc}") from exc
            yield raw


def load_taxonomy(path: Path) -> Taxonomy:
    """Reads a vocabulary file; raises ValueError naming the line of a malformed entry."""
    skills: list[Skill] = []
    for number, raw in enumerate(_read_jsonl(path, "skill"), start=1):
        try:
            skills.append(skill_from_json(raw))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{path}: skill {number}: bad skill entry: {exc}") from exc
    return Taxonomy(skills)


def load_optional_taxonomy(path: Path, without_it: str) -> Taxonomy | None:
    """The vocabulary at `path`, or None with a warning saying what the service does `without_it` when the file
    is missing or unreadable (a stage service keeps serving without it)."""
    if not path.exists():
        logging.getLogger(__name__).warning("no skill vocabulary at %s: %s", path, without_it)
        return None
    try:
        return load_taxonomy(path)
    except (OSError, ValueError) as exc:
        logging.getLogger(__name__).warning("skill vocabulary %s unreadable, ignored: %s", path, exc)
        return None


def load_occupations(path: Path) -> list[Occupation]:
    """Reads data/occupations.jsonl; raises ValueError naming a malformed entry."""
    occupations: list[Occupation] = []
    for raw in _read_jsonl(path, "occupation"):
        try:
            occupations.append(
                Occupation(
                    id=str(raw["id"]),
                    name=str(raw["name"]),
                    field=str(raw.get("field", "")),
                    description=str(raw.get("description", "")),
                )
            )
        except KeyError as exc:
            raise ValueError(f"{path}: bad occupation entry: missing {exc}") from exc
    return occupations
