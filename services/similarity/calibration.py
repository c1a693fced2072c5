"""The caller's 0-1 threshold and the calibrated cosine scale the semantic matcher really uses.

CompareSkills has always taken a `threshold` in [0, 1] with 0.5 as the default, and clients (the seed API, the
CLI, the web page) keep sending numbers on that scale. Raw cosine similarity of MiniLM skill names is a poor
scale for it: at 0.5 real gaps pass as covered (PostgreSQL <- MySQL 0.55, GitHub Actions <- Git 0.59). So the
caller's number is a strictness, mapped onto cosine by a piecewise-linear curve through three fixed points:

    strictness 0.0  -> cosine 0.0            (anything the model finds at all counts as covered)
    strictness 0.5  -> cosine C              (the default: C is calibrated on the evaluation's dev split)
    strictness 1.0  -> cosine 1.0            (only exact, alias and vocabulary-relation matches count)

C is `Settings.similarity_calibrated_threshold`; how it was chosen is in data/README.md ("Matching skills").
The mapping is monotone, so a stricter caller never gets more semantic matches than a more lenient one.
"""

from __future__ import annotations

import math

from services.common.errors import InvalidArgument

# The strictness the seed API documents as its default, and the one that maps onto the calibrated cosine.
DEFAULT_STRICTNESS = 0.5


def resolve_strictness(threshold: float | None, default: float) -> float:
    """The caller's strictness: None (not given) means `default`; a given one must lie in [0, 1], and 0 is
    honoured (any similarity counts), not read as "the default"."""
    if threshold is None:
        return default
    if math.isnan(threshold) or threshold < 0.0 or threshold > 1.0:
        raise InvalidArgument.for_field("threshold", f"must be between 0 and 1, got {threshold}")
    return threshold


def calibrated_cosine(strictness: float, calibrated: float) -> float:
    """The cosine a semantic match must reach at this strictness; `calibrated` is the cosine of 0.5."""
    if not 0.0 < calibrated < 1.0:
        raise ValueError(f"the calibrated cosine must lie strictly between 0 and 1, got {calibrated}")
    if strictness <= DEFAULT_STRICTNESS:
        return calibrated * strictness / DEFAULT_STRICTNESS
    return calibrated + (1.0 - calibrated) * (strictness - DEFAULT_STRICTNESS) / (1.0 - DEFAULT_STRICTNESS)


def strictness_for(cosine: float, calibrated: float) -> float:
    """The inverse of calibrated_cosine: which strictness asks for this cosine (for tools that print both)."""
    if cosine <= calibrated:
        return DEFAULT_STRICTNESS * cosine / calibrated
    return DEFAULT_STRICTNESS + (1.0 - DEFAULT_STRICTNESS) * (cosine - calibrated) / (1.0 - calibrated)
