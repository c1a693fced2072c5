"""The whole pipeline with the real models: stage services loaded once per module, a scheduler per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from services.common.settings import Settings
from services.stack import StageStack, start_stage_services


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stage_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[StageStack]:
    tmp = tmp_path_factory.mktemp("stack")
    settings = Settings.from_env(
        environ={},
        store=f"sqlite:///{tmp / 'jobs.db'}",
        imported_catalog_path=tmp / "no-imported-catalog.jsonl",
        log_json=False,
    )
    stack = await start_stage_services(settings)
    yield stack
    await stack.stop()


@pytest.fixture
def stack_settings(stage_stack: StageStack, tmp_path: Path) -> Settings:

    return stage_stack.settings.replace(store=f"sqlite:///{tmp_path / 'jobs.db'}")
