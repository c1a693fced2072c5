"""The mapping of the caller's 0-1 threshold onto the calibrated cosine scale."""

from __future__ import annotations

import math

import pytest

from services.common.errors import InvalidArgument
from services.similarity.calibration import calibrated_cosine, resolve_strictness, strictness_for


@pytest.mark.parametrize(
    ("strictness", "cosine"),
    [(0.0, 0.0), (0.25, 0.41), (0.5, 0.82), (0.75, 0.91), (1.0, 1.0)],
)
def test_fixed_points_and_linear_pieces(strictness: float, cosine: float) -> None:
    assert calibrated_cosine(strictness, 0.82) == pytest.approx(cosine)


def test_the_mapping_is_monotone_and_strictness_for_inverts_it() -> None:
    steps = [i / 100 for i in range(101)]
    cosines = [calibrated_cosine(s, 0.7) for s in steps]
    assert cosines == sorted(cosines) and len(set(cosines)) == len(cosines)
    for s, c in zip(steps, cosines, strict=True):
        assert strictness_for(c, 0.7) == pytest.approx(s)


def test_zero_means_the_default_and_out_of_range_is_invalid() -> None:
    assert resolve_strictness(None, 0.5) == 0.5
    assert resolve_strictness(0.0, 0.5) == 0.0  # given, so honoured
    assert resolve_strictness(0.9, 0.5) == 0.9
    for bad in (-0.01, 1.01, math.nan):
        with pytest.raises(InvalidArgument) as info:
            resolve_strictness(bad, 0.5)
        assert info.value.violations[0].field == "threshold"


@pytest.mark.parametrize("calibrated", [0.0, 1.0, -0.2, 1.5])
def test_a_calibrated_cosine_outside_zero_to_one_is_a_configuration_error(calibrated: float) -> None:
    with pytest.raises(ValueError, match="calibrated"):
        calibrated_cosine(0.5, calibrated)
