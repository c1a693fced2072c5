"""Settings per process: each service reads its own SKILLBRIDGE_* fields, parsed by type; the whole stack's
Settings composes them all."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import GatewaySettings
from services.common.process_settings import CommonSettings
from services.common.settings import Settings
from services.ner.settings import NerSettings
from services.recommendation.settings import RecommendationSettings
from services.retrieval.settings import RetrievalSettings
from services.scheduler.settings import SchedulerSettings
from services.similarity.settings import SimilaritySettings

PROCESSES = [
    SchedulerSettings,
    NerSettings,
    SimilaritySettings,
    RetrievalSettings,
    RecommendationSettings,
    GatewaySettings,
]


def test_each_process_reads_its_own_fields_and_the_shared_ones() -> None:
    env = {"SKILLBRIDGE_NER_PORT": "6000", "SKILLBRIDGE_CONCURRENCY": "9", "SKILLBRIDGE_LOG_JSON": "off"}
    ner = NerSettings.from_env(env)
    assert (ner.ner_port, ner.log_json) == (6000, False)
    assert not hasattr(ner, "concurrency") and not hasattr(ner, "store")
    scheduler = SchedulerSettings.from_env(env)
    assert (scheduler.concurrency, scheduler.log_json) == (9, False)
    assert not hasattr(scheduler, "spacy_model")
    assert set(CommonSettings.model_fields) <= set(GatewaySettings.model_fields)


def test_the_stack_settings_are_every_process_settings() -> None:
    stack = Settings.from_env({"SKILLBRIDGE_DATA_DIR": "/tmp/elsewhere"}, gateway_port="8181")
    assert all(isinstance(stack, cls) for cls in PROCESSES)
    assert stack.data_dir == Path("/tmp/elsewhere") and stack.gateway_port == 8181
    fields = set().union(*(cls.model_fields for cls in PROCESSES))
    assert set(Settings.model_fields) == fields


def test_values_are_parsed_by_type_and_bad_ones_name_their_variable() -> None:
    with pytest.raises(ValueError, match="SKILLBRIDGE_LEASE_SECONDS"):
        SchedulerSettings.from_env({"SKILLBRIDGE_LEASE_SECONDS": "soon"})
    settings = SchedulerSettings.from_env({})
    changed = settings.replace(concurrency="12", run_dispatcher="false")
    assert (changed.concurrency, changed.run_dispatcher, settings.concurrency) == (12, False, 4)
    with pytest.raises(ValueError):
        settings.replace(concurrency="many")


def test_the_process_environment_is_read_when_no_mapping_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKILLBRIDGE_SIMILARITY_THRESHOLD", "0.7")
    assert SimilaritySettings.from_env().similarity_threshold == 0.7
    assert SimilaritySettings.from_env(similarity_threshold=0.2).similarity_threshold == 0.2
