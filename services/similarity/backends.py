"""What the similarity service runs on: the sentence embedder and the skill taxonomy, built from settings."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from services.common.embedding import Embedder, MiniLmEmbedder, Vectors
from services.common.taxonomy import Taxonomy, load_taxonomy
from services.similarity.core import EmbedFn
from services.similarity.settings import SimilaritySettings

log = logging.getLogger(__name__)

TAXONOMY_FILE = "skills.jsonl"


def load_embedder() -> Embedder:
    """The default model: all-MiniLM-L6-v2, offline from its PyPI wheel (a few seconds on first call)."""
    return MiniLmEmbedder()


def taxonomy_path(settings: SimilaritySettings) -> Path:
    return settings.data_dir / TAXONOMY_FILE


def load_skill_taxonomy(settings: SimilaritySettings) -> Taxonomy | None:
    """The taxonomy in data/ when present; None (with a warning) when missing or unreadable, since the service
    works without it (no canonical names, no pre-embedding)."""
    path = taxonomy_path(settings)
    if not path.exists():
        log.warning("no skill taxonomy at %s: comparing skills by their names as given", path)
        return None
    try:
        return load_taxonomy(path)
    except (OSError, ValueError) as exc:
        log.warning("skill taxonomy %s unreadable, ignored: %s", path, exc)
        return None


def vocabulary_names(taxonomy: Taxonomy) -> list[str]:
    """The distinct canonical names that get pre-embedded (aliases are embedded by their canonical name)."""
    return list(dict.fromkeys(skill.name for skill in taxonomy.skills))


async def warm_vocabulary(embed: EmbedFn, names: Sequence[str], *, chunk: int) -> Vectors | None:
    """Embeds `names` into the cache, `chunk` names per call through the service's own batcher, and returns
    their vectors (None when it failed). Runs in the background after start, so requests interleave with it.

    A failure is logged and ends the warm-up; comparisons then embed names as they come.
    """
    started = time.perf_counter()
    parts: list[Vectors] = []
    try:
        for first in range(0, len(names), chunk):
            parts.append(await embed(names[first : first + chunk]))
    except Exception:  # a warm-up is an optimisation: the service serves without it
        log.exception("pre-embedding the vocabulary stopped; skill names will be embedded as they come")
        return None
    log.info("pre-embedded %d vocabulary skills in %.2f s", len(names), time.perf_counter() - started)
    return np.concatenate(parts) if parts else None
