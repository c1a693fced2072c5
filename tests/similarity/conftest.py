"""Fixtures of the similarity tests: the real model once per session, fakes for the code around it."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Sequence

import numpy as np
import pytest

from services.common.embedding import MiniLmEmbedder, Vectors, l2_normalise


class CountingEmbedder:
    """A stand-in model for testing the code around the model (batching, caching): each text gets a fixed
    pseudo-random unit vector, and every call is recorded. `gate`, when set up, holds calls until released."""

    model_name = "counting-fake"
    dimensions = 8

    def __init__(self, *, fail_with: Exception | None = None) -> None:
        self.calls: list[list[str]] = []
        self.entered = threading.Event()
        self.gate: threading.Event | None = None
        self.fail_with = fail_with

    @staticmethod
    def vector(text: str) -> Vectors:
        rng = np.random.default_rng(zlib.crc32(text.encode()))
        row: Vectors = l2_normalise(rng.normal(size=(1, CountingEmbedder.dimensions)))[0]
        return row

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(timeout=10)
        if self.fail_with is not None:
            raise self.fail_with
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.stack([self.vector(t) for t in texts])


@pytest.fixture
def counting() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture(scope="session")
def minilm() -> MiniLmEmbedder:
    """The real all-MiniLM-L6-v2, loaded once for the whole session."""
    return MiniLmEmbedder()
