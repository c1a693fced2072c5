"""The course catalog: read from JSONL (one course per line) or CSV, validated on the way in.

JSONL: {"id": "c-001", "title": "...", "provider": "...", "description": "...", "skills": ["Python", "SQL"],
        "level": "beginner", "duration_hours": 12, "url": "https://...", "field": "software"}
CSV: the same columns, with `skills` separated by ";".
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

LEVELS = ("beginner", "intermediate", "advanced")


@dataclass(frozen=True)
class Course:
    """One course of the catalog."""

    id: str
    title: str
    provider: str
    description: str
    skills: tuple[str, ...]
    level: str
    duration_hours: int
    url: str
    # The occupational field the course serves ("healthcare", "accounting-finance", "software"...); "" if not given.
    field: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["skills"] = list(self.skills)
        return data


class CatalogError(ValueError):
    """A catalog file or entry is malformed; the message names the line."""


def course_from_mapping(raw: Mapping[str, Any], where: str) -> Course:
    """Builds a Course from a dict, raising CatalogError (naming `where`) when a field is missing or bad."""
    try:
        skills_raw = raw.get("skills", [])
        if isinstance(skills_raw, str):
            skills_raw = [s for s in skills_raw.split(";")]
        skills = tuple(s.strip() for s in skills_raw if str(s).strip())
        level = str(raw.get("level", "")).strip().lower()
        course = Course(
            id=str(raw["id"]).strip(),
            title=str(raw["title"]).strip(),
            provider=str(raw.get("provider", "")).strip(),
            description=str(raw.get("description", "")).strip(),
            skills=skills,
            level=level,
            duration_hours=int(float(raw.get("duration_hours", 0) or 0)),
            url=str(raw.get("url", "")).strip(),
            field=str(raw.get("field", "") or "").strip().lower(),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogError(f"{where}: bad course entry: {exc!r}") from exc
    if not course.id or not course.title:
        raise CatalogError(f"{where}: a course needs an id and a title")
    if course.level and course.level not in LEVELS:
        raise CatalogError(f"{where}: level must be one of {', '.join(LEVELS)}, not {course.level!r}")
    if course.duration_hours < 0:
        raise CatalogError(f"{where}: duration_hours must not be negative")
    return course


def load_catalog(path: Path) -> list[Course]:
    """Reads a .jsonl or .csv catalog; ids must be unique."""
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            rows = enumerate(csv.DictReader(handle), start=2)
            courses = [course_from_mapping(row, f"{path}:{n}") for n, row in rows]
    else:
        courses = []
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    raw = json.loads(line)
                except ValueError as exc:
                    raise CatalogError(f"{path}:{number}: not JSON: {exc}") from exc
                courses.append(course_from_mapping(raw, f"{path}:{number}"))
    seen: set[str] = set()
    for course in courses:
        if course.id in seen:
            raise CatalogError(f"{path}: duplicate course id {course.id!r}")
        seen.add(course.id)
    return courses


def write_catalog(courses: Iterable[Course], path: Path) -> None:
    """Writes courses as JSONL (atomically: a temp file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for course in courses:
            handle.write(json.dumps(course.to_dict(), ensure_ascii=False) + "\n")
    tmp.replace(path)
