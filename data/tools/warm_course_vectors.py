"""Embeds the bundled course catalog into the retrieval service's vector cache, so its first start is fast.

Run from the repository root: `.venv/bin/python data/tools/warm_course_vectors.py` (`make test` runs it first).
The retrieval service keeps the course vectors in `data/.courses.jsonl.vectors-<key>.npy`, keyed by the model and
every course's text (services/retrieval/backends.py). Without that file, its first start embeds every course: about
30 s of CPU for 1,100 courses, which a busy machine can stretch past the start-up time limits of the end-to-end
tests. When the file for the current catalog is already there this returns in well under a second, without loading
the model. The file is a cache (git ignores it): deleting it only costs the next start the embedding time.

It does the same for the similarity service's vocabulary vectors (`data/.skills.jsonl.vectors-<key>.npy`,
services/similarity/vocabulary_vectors.py): without them the service embeds every skill name in the background
after its start, a minute of CPU on a busy machine that `make bench` would otherwise measure the ML pipeline
against.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from services.common.catalog import load_catalog  # noqa: E402 - needs the path set above
from services.common.embedding import normalise_text  # noqa: E402
from services.common.taxonomy import load_taxonomy  # noqa: E402
from services.retrieval.backends import content_key, course_vectors, vectors_cache_path  # noqa: E402
from services.similarity.vocabulary_vectors import cache_path, write_vectors  # noqa: E402

CATALOG = ROOT / "data" / "courses.jsonl"
VOCABULARY = ROOT / "data" / "skills.jsonl"
# What the retrieval service embeds with (services/common/embedding.py, MiniLmEmbedder). Only used to find an
# existing cache without loading the model; a mismatch just means the model is loaded and the cache checked properly.
MODEL_NAME, DIMENSIONS = "all-MiniLM-L6-v2", 384
# The similarity service's embed_max_batch: its warm-up embeds the vocabulary in chunks of this many names.
EMBED_CHUNK = 64


def main() -> int:
    warm_courses()
    warm_vocabulary()
    return 0


def warm_courses() -> None:
    courses = load_catalog(CATALOG)
    if vectors_cache_path(CATALOG, content_key(courses, MODEL_NAME, DIMENSIONS)).exists():
        sys.stderr.write(f"course vectors for the {len(courses)} courses are cached already\n")
        return
    from services.common.embedding import MiniLmEmbedder  # loads torch: only when there is work to do

    started = time.perf_counter()
    vectors = course_vectors(courses, MiniLmEmbedder(), CATALOG)
    sys.stderr.write(f"cached {vectors.shape[0]} course vectors in {time.perf_counter() - started:.1f} s\n")


def warm_vocabulary() -> None:
    # The names the similarity service embeds (services/similarity/backends.py, vocabulary_names).
    names = list(dict.fromkeys(skill.name for skill in load_taxonomy(VOCABULARY).skills))
    path = cache_path(VOCABULARY, names, MODEL_NAME, DIMENSIONS)
    if path.exists():
        sys.stderr.write(f"vocabulary vectors for the {len(names)} skill names are cached already\n")
        return
    from services.common.embedding import MiniLmEmbedder

    # As the service's own warm-up embeds them: normalised (the cache's key), EMBED_CHUNK names per model call.
    texts = [normalise_text(name) for name in names]
    started = time.perf_counter()
    embedder = MiniLmEmbedder()
    write_vectors(
        path, np.concatenate([embedder.embed(texts[i : i + EMBED_CHUNK]) for i in range(0, len(texts), EMBED_CHUNK)])
    )
    sys.stderr.write(f"cached {len(names)} vocabulary vectors in {time.perf_counter() - started:.1f} s\n")


if __name__ == "__main__":
    sys.exit(main())
