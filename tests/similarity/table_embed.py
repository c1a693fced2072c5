"""An embed function over a fixed table of vectors, for unit tests of the code around the model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from services.common.embedding import Vectors, l2_normalise, normalise_text


class TableEmbed:
    """Embeds each text as its row of `table` (keyed by normalised text), L2-normalised, and records the calls."""

    def __init__(self, table: Mapping[str, Sequence[float]]) -> None:
        self.table = table
        self.calls: list[list[str]] = []

    def rows(self, *texts: str) -> Vectors:
        return l2_normalise(np.array([self.table[normalise_text(t)] for t in texts], dtype=np.float32))

    async def __call__(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        return self.rows(*texts)
