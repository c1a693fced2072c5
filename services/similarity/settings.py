"""The similarity service process's settings."""

from __future__ import annotations

from services.common.process_settings import CommonSettings


class EmbeddingSettings(CommonSettings):
    """How concurrent embedding requests are micro-batched (the similarity and retrieval services embed)."""

    embed_batch_window_ms: float = 2.0
    embed_max_batch: int = 64


class SimilaritySettings(EmbeddingSettings):
    """Configuration of the similarity service."""

    similarity_port: int = 50053
    similarity_metrics_port: int = 9153
    # The caller's default strictness in [0, 1] (the seed's `threshold`), and the cosine similarity that
    # strictness 0.5 maps to: calibrated on the evaluation's dev split (`python -m tests.similarity.calibrate`,
    # data/README.md "Matching skills"). Other strictness values map piecewise-linearly through (0, 0) and (1, 1).
    similarity_threshold: float = 0.5
    similarity_calibrated_threshold: float = 0.8
    # Guided coverage (services/similarity/text_coverage.py): the passage cosine that strictness 0.5 maps to when
    # a job skill is looked for in the resume's sentences, calibrated on the dev split
    # (`python -m tests.similarity.calibrate_text`). It embeds a new resume's passages that share a word with a
    # missing skill (about a dozen per analysis, one model call); 0 switches the step off.
    similarity_text_calibrated_threshold: float = 0.6
    max_text_chars: int = 100_000
