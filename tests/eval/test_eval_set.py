"""The evaluation set's format (fast, no models): every file parses and follows the written rules."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.eval.dataset import (
    EVAL_DIR,
    FIELDS,
    SPLITS,
    EvalSetError,
    format_problems,
    load_file,
    load_split,
    parse_pair,
    shared_texts,
)


def pair_files() -> list[Path]:
    return sorted(path for split in SPLITS for path in (EVAL_DIR / split).glob("*.jsonl"))


def test_every_file_parses_and_is_a_known_field() -> None:
    files = pair_files()
    assert files, f"no pair files under {EVAL_DIR}"
    for path in files:
        assert path.stem in FIELDS, f"{path}: not one of the fields"
        assert load_file(path), f"{path}: empty"


@pytest.mark.parametrize("path", pair_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_pairs_follow_the_writing_rules(path: Path) -> None:
    problems = {
        pair.id: found
        for pair in load_file(path)
        if (found := format_problems(pair, file_field=path.stem, file_split=path.parent.name))
    }
    assert problems == {}


def test_every_split_covers_the_same_fields_with_two_pairs_or_more() -> None:
    per_split = {split: Counter(pair.field for pair in load_split(split)) for split in SPLITS}
    assert all(set(counts) == set(per_split["dev"]) for counts in per_split.values()), per_split
    assert all(count >= 2 for counts in per_split.values() for count in counts.values()), per_split


def test_ids_are_unique_and_no_two_splits_share_text() -> None:
    pairs = load_split("all")
    ids = Counter(pair.id for pair in pairs)
    assert [pair_id for pair_id, n in ids.items() if n > 1] == []
    for i, first in enumerate(SPLITS):
        for second in SPLITS[i + 1 :]:
            assert shared_texts(load_split(first), load_split(second)) == set(), (first, second)


def test_a_malformed_line_is_reported_with_its_place(tmp_path: Path) -> None:
    good = json.loads((pair_files()[0]).read_text(encoding="utf-8").splitlines()[0])
    del good["missing_skills"]
    path = tmp_path / "software.jsonl"
    path.write_text("\n" + json.dumps(good) + "\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match=r"software\.jsonl:2"):
        load_file(path)


def test_format_problems_names_each_broken_rule() -> None:
    raw = {
        "id": "x-01",
        "field": "software",
        "split": "dev",
        "title": "t",
        "resume": "word " * 120,
        "job_description": "word " * 200,
        "job_skills": [{"name": "Go", "aka": [], "required": True}] * 2,
        "resume_skills": [{"name": "Go", "aka": ["Golang"]}],
        "missing_skills": ["Rust"],
    }
    problems = format_problems(parse_pair(raw), file_field="software", file_split="test")
    text = "\n".join(problems)
    for expected in ("filed under test/software", "resume has 120 words", "2 job skills", "repeats a name",
                     "1..5 aka", "not among job_skills"):  # fmt: skip
        assert expected in text, problems
