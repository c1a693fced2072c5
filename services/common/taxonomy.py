"""The skill taxonomy: canonical skill names with a category and aliases, read from data/skills.jsonl.

One JSON object per line: {"name": "Kubernetes", "category": "Cloud & DevOps", "aliases": ["k8s", "kube"]}.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Skill:
    """A canonical skill."""

    name: str
    category: str
    aliases: tuple[str, ...] = ()


@dataclass
class Taxonomy:
    """All canonical skills, with a lookup from any lower-cased name or alias to its skill."""

    skills: list[Skill]
    _by_term: dict[str, Skill] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for skill in self.skills:
            for term in (skill.name, *skill.aliases):
                self._by_term.setdefault(term.casefold(), skill)

    def lookup(self, term: str) -> Skill | None:
        """The skill that `term` names (case-insensitive), or None."""
        return self._by_term.get(term.strip().casefold())

    def canonical(self, term: str) -> str:
        """The canonical name of `term` if the taxonomy knows it, else the term as given."""
        skill = self.lookup(term)
        return skill.name if skill else term.strip()

    def __len__(self) -> int:
        return len(self.skills)


def load_taxonomy(path: Path) -> Taxonomy:
    """Reads a taxonomy file; raises ValueError naming the line of a malformed entry."""
    skills: list[Skill] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                skills.append(
                    Skill(
                        name=str(raw["name"]),
                        category=str(raw.get("category", "")),
                        aliases=tuple(str(a) for a in raw.get("aliases", ())),
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: bad skill entry: {exc}") from exc
    return Taxonomy(skills)
