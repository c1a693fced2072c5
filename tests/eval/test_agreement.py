"""The second readers' labellings (fast, no models): their format, and how agreement is counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.common.taxonomy import Skill, Taxonomy
from tests.eval.agreement import (
    Labels,
    agreement_rows,
    any_form_counts,
    as_labelled,
    compare,
    format_rows,
    gold_labelling,
    load_labelling,
    readers,
)
from tests.eval.dataset import MAX_AKA, MAX_JOB_SKILLS, MIN_JOB_SKILLS, EvalSetError, GoldSkill, load_split

# The agreement figures data/README.md quotes ("How far two careful readers agree"); a change to the labellings
# changes them, and the README with them.
QUOTED_F1 = {
    "reader-a vs gold": (0.852, 0.833),
    "reader-b vs gold": (0.819, 0.778),
    "reader-b vs reader-a": (0.896, 0.885),
}


def test_every_labelling_is_of_dev_pairs_and_follows_the_rules() -> None:
    found = readers()
    assert len(found) >= 2, "agreement needs at least two readers"
    dev = {pair.id for pair in load_split("dev")}
    for name, labelling in found.items():
        assert len(labelling) >= 16, name
        assert set(labelling) <= dev, f"{name}: labels pairs that are not dev pairs"
        for pair_id, labels in labelling.items():
            assert MIN_JOB_SKILLS <= len(labels.job_skills) <= MAX_JOB_SKILLS, (name, pair_id)
            assert all(len(s.aka) <= MAX_AKA for s in labels.job_skills), (name, pair_id)
            assert len({s.name for s in labels.job_skills}) == len(labels.job_skills), (name, pair_id)


def test_the_figures_the_readme_quotes() -> None:
    rows = dict(agreement_rows())
    for name, (job_f1, gap_f1) in QUOTED_F1.items():
        assert round(rows[name]["job_names"].f1, 3) == job_f1, name
        assert round(rows[name]["gap_names"].f1, 3) == gap_f1, name


def test_a_missing_skill_must_be_a_job_skill(tmp_path: Path) -> None:
    line = {"id": "x", "job_skills": [{"name": "GAAP", "aka": []}], "missing_skills": ["IFRS"]}
    path = tmp_path / "reader.jsonl"
    path.write_text(json.dumps(line) + "\n")
    with pytest.raises(EvalSetError, match=r"reader\.jsonl:1"):
        load_labelling(path)


def test_any_form_hits_once_per_gold_skill() -> None:
    gold = [GoldSkill("Google Analytics 4", ("GA4",))]
    predicted = [GoldSkill("GA4 reporting", ("GA4",)), GoldSkill("Google Analytics", ("Google Analytics 4",))]
    counts = any_form_counts(predicted, gold)
    assert (counts.tp, counts.fp, counts.fn) == (1, 1, 0)


def test_by_name_only_the_predicted_name_counts() -> None:
    gold = {"p": Labels((GoldSkill("G-code", ("G code",)),), ())}
    reader = {"p": Labels((GoldSkill("G-code editing", ("G-code",)),), ())}
    counts = compare(reader, gold)
    assert counts["job_names"].tp == 0 and counts["job_forms"].tp == 1


def test_the_gold_agrees_with_itself() -> None:
    gold = gold_labelling(load_split("dev")[:4])
    counts = compare(gold, gold)
    assert counts["job_names"].f1 == 1.0 and counts["gap_forms"].f1 == 1.0
    assert "| gold | gold | 1.000 |" in format_rows([("gold vs gold", counts)])


def test_the_system_is_given_its_vocabulary_spellings_as_written_forms() -> None:
    vocabulary = Taxonomy([Skill("Python", "Programming Languages", aliases=("Python 3", "CPython"))])
    assert as_labelled("Python", vocabulary).aka == ("Python 3", "CPython")
    assert as_labelled("Cobol", vocabulary).aka == ()
