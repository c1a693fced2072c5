"""What the similarity service runs on: the sentence embedder and the skill taxonomy, built from settings."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from services.common.embedding import CachedEmbedder, Embedder, MiniLmEmbedder
from services.common.taxonomy import Taxonomy, load_taxonomy
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


def pre_embed_taxonomy(embedder: CachedEmbedder, taxonomy: Taxonomy) -> int:
    """Embeds every canonical skill name into the cache, so comparisons of known skills skip the model.

    Aliases are not embedded: comparisons embed the canonical name of any alias the taxonomy knows.
    """
    names = [skill.name for skill in taxonomy.skills]
    started = time.perf_counter()
    embedder.embed(names)
    log.info("pre-embedded %d taxonomy skills in %.2f s", len(names), time.perf_counter() - started)
    return len(names)
