"""`import_catalog`: good CSV and JSONL become the served catalog; a bad file changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.common.catalog import CatalogError, load_catalog
from services.retrieval.catalog_import import import_catalog

CSV = (
    "id,title,provider,description,skills,level,duration_hours,url\n"
    "c1,Intro to Rust,Acme,Ownership and borrowing,Rust;Systems Programming,beginner,12,https://x/c1\n"
    "c2,Kafka Streams,Acme,Event streaming,Apache Kafka,advanced,8,https://x/c2\n"
)


def test_a_good_csv_is_written_as_the_imported_jsonl(settings: Any, tmp_path: Path) -> None:
    source = tmp_path / "mine.csv"
    source.write_text(CSV)
    assert import_catalog(settings, source) == 2
    courses = load_catalog(settings.imported_catalog_path)
    assert courses[0].skills == ("Rust", "Systems Programming") and courses[1].duration_hours == 8
    assert settings.imported_catalog_path.suffix == ".jsonl"


def test_a_good_jsonl_replaces_an_earlier_import(settings: Any, tmp_path: Path) -> None:
    first = tmp_path / "first.csv"
    first.write_text(CSV)
    import_catalog(settings, first)
    source = tmp_path / "mine.jsonl"
    source.write_text(json.dumps({"id": "j1", "title": "Go Concurrency", "skills": ["Go"], "level": "advanced"}) + "\n")
    assert import_catalog(settings, source) == 1
    assert [c.id for c in load_catalog(settings.imported_catalog_path)] == ["j1"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.jsonl", '{"id": "a", "title": "A"}\n{not json\n', "not JSON"),
        ("bad.csv", "id,title,level\nc1,A,expert\n", "level"),
        ("dup.jsonl", '{"id": "a", "title": "A"}\n{"id": "a", "title": "B"}\n', "duplicate"),
        ("empty.jsonl", "\n", "no courses"),
        ("catalog.txt", "id,title\n", ".csv or .jsonl"),
        ("latin1.csv", "id,title\nc1,Caf\xe9\n", "cannot read"),
    ],
)
def test_a_bad_file_raises_and_leaves_the_existing_import_in_place(
    settings: Any, tmp_path: Path, name: str, content: str, message: str
) -> None:
    good = tmp_path / "good.csv"
    good.write_text(CSV)
    import_catalog(settings, good)
    before = settings.imported_catalog_path.read_bytes()
    source = tmp_path / name
    source.write_bytes(content.encode("latin-1"))
    with pytest.raises(CatalogError, match=message):
        import_catalog(settings, source)
    assert settings.imported_catalog_path.read_bytes() == before


def test_a_missing_file_is_a_catalog_error(settings: Any, tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no such file"):
        import_catalog(settings, tmp_path / "nope.csv")
    assert not settings.imported_catalog_path.exists()
