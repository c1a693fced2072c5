"""The vocabulary's skill-name vectors, kept on disk beside skills.jsonl so that a start does not re-embed them.

The NER stage reports skills under the vocabulary's canonical names, so with every name's vector at hand a
comparison rarely needs the model. Embedding ~5,000 names takes seconds on a quiet machine and minutes on a busy
one, so the first start embeds them in the background (services/similarity/backends.py, `warm_vocabulary`) and
writes them to `.<vocabulary file>.vectors-<key>.npy` (git-ignored); later starts read that file in
milliseconds. The key hashes the model, its dimensions and the names, so a changed vocabulary or model never
reuses stale vectors.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from services.common.embedding import Embedder, Vectors, normalise_text

log = logging.getLogger(__name__)


class PrecomputedFirst:
    """An embedder that answers from a table of precomputed rows and asks the model only for other texts."""

    def __init__(self, inner: Embedder, table: dict[str, Vectors]) -> None:
        self._inner = inner
        self._table = table

    @property
    def model_name(self) -> str:
        return self._inner.model_name

    @property
    def dimensions(self) -> int:
        return self._inner.dimensions

    def embed(self, texts: Sequence[str]) -> Vectors:
        keys = [normalise_text(t) for t in texts]
        unknown = [i for i, key in enumerate(keys) if key not in self._table]
        fresh = self._inner.embed([texts[i] for i in unknown]) if unknown else None
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for i, key in enumerate(keys):
            if key in self._table:
                out[i] = self._table[key]
        if fresh is not None:
            out[unknown] = fresh
        return out


def cache_path(vocabulary_file: Path, names: Sequence[str], model_name: str, dimensions: int) -> Path:
    """Where the vectors of exactly these names under this model are kept."""
    digest = hashlib.sha256(f"{model_name}\n{dimensions}\n".encode())
    for name in names:
        digest.update(normalise_text(name).encode() + b"\x00")
    return vocabulary_file.with_name(f".{vocabulary_file.name}.vectors-{digest.hexdigest()[:24]}.npy")


def read_vectors(path: Path, rows: int, dimensions: int) -> Vectors | None:
    """The cached vectors, or None when the file is missing, unreadable or of the wrong shape."""
    if not path.exists():
        return None
    try:
        vectors: Vectors = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable vocabulary vectors %s: %s", path, exc)
        return None
    if vectors.shape != (rows, dimensions) or vectors.dtype != np.float32:
        log.warning("ignoring vocabulary vectors %s of shape %s %s", path, vectors.shape, vectors.dtype)
        return None
    return vectors


def write_vectors(path: Path, vectors: Vectors) -> None:
    """Writes the file atomically and removes vectors of earlier vocabularies; a read-only data dir only costs
    a background warm-up at the next start."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("wb") as handle:
            np.save(handle, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
        tmp.replace(path)
        for stale in path.parent.glob(path.name.split(".vectors-")[0] + ".vectors-*.npy"):
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not write vocabulary vectors %s: %s", path, exc)
        tmp.unlink(missing_ok=True)
