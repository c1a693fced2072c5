"""The labelled resume / job-ad pairs of tests/data/eval/<split>/<field>.jsonl, and the checks of their format.

Each line is one pair: a resume, a job ad, the skills a careful recruiter reads in each (with the other ways
they are written, `aka`), and the job skills the resume does not show. How the pairs were written and
labelled is in data/README.md ("The evaluation set").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.common.settings import REPO_ROOT

EVAL_DIR = REPO_ROOT / "tests" / "data" / "eval"
# dev: tune on it; test: the figures CI holds; holdout: pairs written after the system, measured, never tuned on.
SPLITS = ("dev", "test", "holdout")
SOFTWARE_FIELDS = ("software", "data", "cloud-devops")
FIELDS = (
    *SOFTWARE_FIELDS,
    "healthcare",
    "accounting-finance",
    "marketing",
    "sales",
    "human-resources",
    "supply-chain-logistics",
    "mechanical-manufacturing",
    "civil-construction",
    "education",
    "legal",
    "design",
    "customer-service",
    "hospitality",
)
SOFTWARE_GROUP = "software"
OUTSIDE_SOFTWARE_GROUP = "outside software"
MIN_WORDS, MAX_WORDS = 150, 400
MIN_JOB_SKILLS, MAX_JOB_SKILLS = 8, 20
MAX_AKA = 5


class EvalSetError(ValueError):
    """A pair file that cannot be read, naming the file and line."""


@dataclass(frozen=True)
class GoldSkill:
    """A labelled skill: its name as people write it, the other ways it is written, and whether the ad
    requires it (always True for a resume skill)."""

    name: str
    aka: tuple[str, ...]
    required: bool = True

    @property
    def forms(self) -> tuple[str, ...]:
        return (self.name, *self.aka)


@dataclass(frozen=True)
class EvalPair:
    """One labelled resume / job-ad pair."""

    id: str
    field: str
    split: str
    title: str
    resume: str
    job_description: str
    job_skills: tuple[GoldSkill, ...]
    resume_skills: tuple[GoldSkill, ...]
    missing_skill_names: tuple[str, ...]
    notes: str = ""

    @property
    def group(self) -> str:
        return SOFTWARE_GROUP if self.field in SOFTWARE_FIELDS else OUTSIDE_SOFTWARE_GROUP

    @property
    def missing_skills(self) -> tuple[GoldSkill, ...]:
        """The job skills the resume does not show, with their aka."""
        missing = set(self.missing_skill_names)
        return tuple(skill for skill in self.job_skills if skill.name in missing)

    @property
    def covered_skills(self) -> tuple[GoldSkill, ...]:
        """The job skills the resume shows."""
        missing = set(self.missing_skill_names)
        return tuple(skill for skill in self.job_skills if skill.name not in missing)


def parse_skill(raw: Any, *, job: bool) -> GoldSkill:
    """One labelled skill from its JSON object; raises KeyError / TypeError on a missing key or a wrong type."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise TypeError(f"a skill must be an object with a name: {raw!r}")
    aka = raw.get("aka", [])
    if not isinstance(aka, list) or not all(isinstance(a, str) for a in aka):
        raise TypeError(f"aka of {raw['name']!r} must be a list of strings")
    required = raw["required"] if job else True
    if not isinstance(required, bool):
        raise TypeError(f"required of {raw['name']!r} must be true or false")
    return GoldSkill(raw["name"], tuple(aka), required)


def parse_pair(raw: Any) -> EvalPair:
    """One pair from its JSON object; raises KeyError / TypeError on a missing key or a wrong type."""
    if not isinstance(raw, dict):
        raise TypeError("a pair must be a JSON object")
    texts = {key: raw[key] for key in ("id", "field", "split", "title", "resume", "job_description")}
    for key, value in texts.items():
        if not isinstance(value, str):
            raise TypeError(f"{key} must be a string")
    missing = raw["missing_skills"]
    if not isinstance(missing, list) or not all(isinstance(m, str) for m in missing):
        raise TypeError("missing_skills must be a list of names")
    return EvalPair(
        **texts,
        job_skills=tuple(parse_skill(s, job=True) for s in raw["job_skills"]),
        resume_skills=tuple(parse_skill(s, job=False) for s in raw["resume_skills"]),
        missing_skill_names=tuple(missing),
        notes=str(raw.get("notes", "")),
    )


def load_file(path: Path) -> list[EvalPair]:
    """The pairs of one JSONL file; raises EvalSetError naming the line of a malformed one."""
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            pairs.append(parse_pair(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            raise EvalSetError(f"{path}:{number}: bad eval pair: {exc!r}") from exc
    return pairs


def split_files(split: str) -> list[Path]:
    """The pair files of a split (one of SPLITS, or "all"), in field order, then any others by name."""
    splits = SPLITS if split == "all" else (split,)
    if not set(splits) <= set(SPLITS):
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)} or all")
    order = {name: i for i, name in enumerate(FIELDS)}
    files = [path for s in splits for path in (EVAL_DIR / s).glob("*.jsonl")]
    return sorted(files, key=lambda p: (SPLITS.index(p.parent.name), order.get(p.stem, len(order)), p.stem))


def load_split(split: str) -> list[EvalPair]:
    """Every pair of a split (one of SPLITS, or "all")."""
    return [pair for path in split_files(split) for pair in load_file(path)]


def word_count(text: str) -> int:
    return len(text.split())


def format_problems(pair: EvalPair, *, file_field: str, file_split: str) -> list[str]:
    """What breaks the written rules of the set (data/README.md) in one pair; empty when it is well formed."""
    problems = []
    if pair.field != file_field or pair.split != file_split:
        problems.append(f"field/split {pair.field}/{pair.split} but filed under {file_split}/{file_field}")
    for side, text in (("resume", pair.resume), ("job_description", pair.job_description)):
        if not MIN_WORDS <= word_count(text) <= MAX_WORDS:
            problems.append(f"{side} has {word_count(text)} words, not {MIN_WORDS}..{MAX_WORDS}")
    if not MIN_JOB_SKILLS <= len(pair.job_skills) <= MAX_JOB_SKILLS:
        problems.append(f"{len(pair.job_skills)} job skills, not {MIN_JOB_SKILLS}..{MAX_JOB_SKILLS}")
    if not pair.resume_skills:
        problems.append("no resume skills")
    for side, skills in (("job_skills", pair.job_skills), ("resume_skills", pair.resume_skills)):
        names = [skill.name for skill in skills]
        if len(set(names)) != len(names):
            problems.append(f"{side} repeats a name")
        for skill in skills:
            if not skill.name.strip() or not 1 <= len(skill.aka) <= MAX_AKA:
                problems.append(f"{side} {skill.name!r}: needs a name and 1..{MAX_AKA} aka, has {len(skill.aka)}")
    unknown = set(pair.missing_skill_names) - {skill.name for skill in pair.job_skills}
    if unknown:
        problems.append(f"missing_skills not among job_skills: {sorted(unknown)}")
    if len(set(pair.missing_skill_names)) != len(pair.missing_skill_names):
        problems.append("missing_skills repeats a name")
    return problems


def shared_texts(first: Iterable[EvalPair], second: Sequence[EvalPair]) -> set[str]:
    """Texts (resumes or ads, whitespace-normalised) that appear in both collections of pairs."""

    def texts(pairs: Iterable[EvalPair]) -> set[str]:
        return {" ".join(t.split()) for pair in pairs for t in (pair.resume, pair.job_description)}

    return texts(first) & texts(second)
