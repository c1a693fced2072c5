"""How scores are shown, the same way everywhere: the rules of the original browser client (SEED.md).

- The match score is the share of the job's skills the resume covers (`covered_fraction`), a whole percent,
  rounded half up as JavaScript's `Math.round(100 * score)` does.
- A course's potential score and its improvement are percents with one decimal, rounded as
  `Number.prototype.toFixed(1)` does: on the exact binary value, a tie going up. The improvement is
  `max(0, potential - current)` in points of percent, shown with a sign: "+12.5 points".
- A skill's similarity is a whole percent, `Math.round(100 * similarity)`.

Python's own `round()` and format specs round ties to even, which is how the page and the CLI once disagreed
("+3 points" against "+2" for 2.5). The web page applies these same rules in JavaScript.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_DOWN, ROUND_HALF_UP, Decimal


def whole_percent(fraction: float) -> int:
    """A score in [0, 1] as a whole percent, as `Math.round(fraction * 100)`: ties toward +infinity."""
    exact = Decimal(fraction * 100)  # the same double JavaScript computes, read exactly
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP if exact >= 0 else ROUND_HALF_DOWN))


def one_decimal_percent(fraction: float) -> str:
    """A score in [0, 1] as a percent with one decimal, as `(fraction * 100).toFixed(1)`: ties away from zero."""
    exact = Decimal(fraction * 100)
    return f"{exact.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):.1f}"


def covered_fraction(job_skills: Sequence[str], skill_gap: Sequence[str]) -> float | None:
    """The match score as the original client computes it: the share of job skills not in the gap (None when the
    job asks for no skill). The web page computes the same."""
    if not job_skills:
        return None
    gap = set(skill_gap)
    return sum(1 for skill in job_skills if skill not in gap) / len(job_skills)


def match_score(fraction: float) -> str:
    """The overall match score: "55%"."""
    return f"{whole_percent(fraction)}%"


def potential_score(fraction: float) -> str:
    """A course's potential score: "67.5%"."""
    return f"{one_decimal_percent(fraction)}%"


def improvement(fraction: float) -> str:
    """A course's score improvement in points of percent: "+12.5 points"."""
    return f"+{one_decimal_percent(max(fraction, 0.0))} points"
