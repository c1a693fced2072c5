"""The evaluation run over the real services must stay above a floor (the targets are reported by `make eval`)."""

from __future__ import annotations

import pytest

from services.ner.evaluation import load_eval_set
from tests.eval.skill_eval import EVAL_SET, evaluate, format_report

pytestmark = pytest.mark.ml


async def test_gap_quality_floor() -> None:
    pairs = load_eval_set(EVAL_SET)
    assert len(pairs) >= 15
    report = await evaluate(pairs, threshold=0.5)
    text = format_report(report, len(pairs))
    assert report.job_skills.f1 >= 0.80, text
    assert report.missing_skills.f1 >= 0.75, text
