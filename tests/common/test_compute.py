"""Thread caps of the numeric libraries (services/common/compute.py)."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info

from services.common.compute import limit_threads


def _blas_threads() -> list[int]:
    np.ones((2, 2)) @ np.ones((2, 2))  # numpy's BLAS is loaded
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_caps_the_blas_pool() -> None:
    limit_threads(1)
    threads = _blas_threads()
    assert threads
    assert set(threads) == {1}


def test_zero_leaves_the_pools_as_they_are() -> None:
    limit_threads(1)
    limit_threads(0)
    assert set(_blas_threads()) == {1}
