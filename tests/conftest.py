"""Fixtures shared by every suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.common.settings import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Metrics ports are off in tests (two scheduler subprocesses would both want 9151); a test that scrapes sets one.
for _service in ("SCHEDULER", "NER", "SIMILARITY", "RETRIEVAL", "RECOMMENDATION"):
    os.environ.setdefault(f"SKILLBRIDGE_{_service}_METRICS_PORT", "0")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for an isolated scheduler: its own SQLite file, short leases and fast polling."""
    return Settings.from_env(
        environ={},
        store=f"sqlite:///{tmp_path / 'jobs.db'}",
        lease_seconds=1.5,
        poll_interval_seconds=0.2,
        stage_timeout_seconds=5.0,
        concurrency=2,
        log_json=False,
    )
