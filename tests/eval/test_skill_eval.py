"""The test split through the real stack must not fall below the figures measured on it.

Each floor sits at most 0.03 below the figure `make eval ARGS="--split test"` printed when it was set, so a
real regression fails here. When a change improves the figures, re-measure with that command and raise the
floors (never lower one to make a change pass; never tune anything on the test split).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.eval.dataset import OUTSIDE_SOFTWARE_GROUP, load_split
from tests.eval.skill_eval import EvalReport, evaluate, format_pair_errors, format_report

# The module fixture runs the whole split, inside whichever test needs it first.
pytestmark = [pytest.mark.ml, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(1200)]

# Measured on the test split (32 pairs) on 2026-11-30 after the seventh round was merged (covers relations and
# synonym marks written blind to both splits, soft skills read from what a resume says its writer did; dev job F1
# 0.806, gap F1 0.710): job-skill F1 0.583, missing-skill F1 0.458, courses on the gap 0.481; outside software 0.541,
# 0.438, 0.494; courses teaching what the resume shows 0.144. Each floor is that figure less 0.03, rounded up to the
# hundredth (the ceiling: plus 0.03, rounded down), or the earlier floor where that is higher and still met
# (missing-skill F1 held at 0.44). Re-measure with `make eval ARGS="--split test"` and raise these when the system
# improves.
JOB_SKILL_F1_FLOOR = 0.56
MISSING_SKILL_F1_FLOOR = 0.44
COURSES_ON_GAP_FLOOR = 0.46
OUTSIDE_SOFTWARE_JOB_SKILL_F1_FLOOR = 0.52
OUTSIDE_SOFTWARE_MISSING_SKILL_F1_FLOOR = 0.41
OUTSIDE_SOFTWARE_COURSES_ON_GAP_FLOOR = 0.47
# The share of recommended courses that teach what the resume already shows may not rise above this.
COURSES_TEACHING_KNOWN_CEILING = 0.17


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def test_split_report() -> AsyncIterator[EvalReport]:
    pairs = load_split("test")
    yield await evaluate(pairs, split="test")


def explain(report: EvalReport) -> str:
    return format_report(report) + "\n\n" + format_pair_errors(report)


async def test_every_pair_ran_to_a_result(test_split_report: EvalReport) -> None:
    assert test_split_report.failures() == {}
    assert test_split_report.overall.pairs >= 32


async def test_overall_floors(test_split_report: EvalReport) -> None:
    overall = test_split_report.overall
    assert overall.job.f1 >= JOB_SKILL_F1_FLOOR, explain(test_split_report)
    assert overall.gap.f1 >= MISSING_SKILL_F1_FLOOR, explain(test_split_report)
    assert overall.courses.gap_share >= COURSES_ON_GAP_FLOOR, explain(test_split_report)
    assert overall.courses.known_share <= COURSES_TEACHING_KNOWN_CEILING, explain(test_split_report)


async def test_floors_outside_software(test_split_report: EvalReport) -> None:
    outside = test_split_report.summaries.groups[OUTSIDE_SOFTWARE_GROUP]
    assert outside.job.f1 >= OUTSIDE_SOFTWARE_JOB_SKILL_F1_FLOOR, explain(test_split_report)
    assert outside.gap.f1 >= OUTSIDE_SOFTWARE_MISSING_SKILL_F1_FLOOR, explain(test_split_report)
    assert outside.courses.gap_share >= OUTSIDE_SOFTWARE_COURSES_ON_GAP_FLOOR, explain(test_split_report)
