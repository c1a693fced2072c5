"""Embeds the bundled course catalog into the retrieval service's vector cache, so its first start is fast.

Run from the repository root: `.venv/bin/python data/tools/warm_course_vectors.py` (`make test` runs it first).
The retrieval service keeps the course vectors in `data/.courses.jsonl.vectors-<key>.npy`, keyed by the model and
every course's text (services/retrieval/backends.py). Without that file, its first start embeds every course: about
30 s of CPU for 1,100 courses, which a busy machine can stretch past the start-up time limits of the end-to-end
tests. When the file for the current catalog is already there this returns in well under a second, without loading
the model. The file is a cache (git ignores it): deleting it only costs the next start the embedding time.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from services.common.catalog import load_catalog  # noqa: E402 - needs the path set above
from services.retrieval.backends import content_key, course_vectors, vectors_cache_path  # noqa: E402

CATALOG = ROOT / "data" / "courses.jsonl"
# What the retrieval service embeds with (services/common/embedding.py, MiniLmEmbedder). Only used to find an
# existing cache without loading the model; a mismatch just means the model is loaded and the cache checked properly.
MODEL_NAME, DIMENSIONS = "all-MiniLM-L6-v2", 384


def main() -> int:
    courses = load_catalog(CATALOG)
    if vectors_cache_path(CATALOG, content_key(courses, MODEL_NAME, DIMENSIONS)).exists():
        sys.stderr.write(f"course vectors for the {len(courses)} courses are cached already\n")
        return 0
    from services.common.embedding import MiniLmEmbedder  # loads torch: only when there is work to do

    started = time.perf_counter()
    vectors = course_vectors(courses, MiniLmEmbedder(), CATALOG)
    sys.stderr.write(f"cached {vectors.shape[0]} course vectors in {time.perf_counter() - started:.1f} s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
