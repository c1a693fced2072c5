"""The vocabulary's skill names are embedded in the background after start, through the service's own batcher,
and the warm-up stops when the server drains."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from services.common.embedding import CachedEmbedder
from services.common.settings import Settings
from services.common.taxonomy import Skill, Taxonomy
from services.similarity.server import start
from tests.support import assert_eventually

VOCABULARY = Taxonomy([Skill(f"Skill {i}", "Test", (f"alias {i}",)) for i in range(10)])


async def test_skill_names_are_cached_after_start_in_chunks(counting: Any, tmp_path: Path) -> None:
    cached = CachedEmbedder(counting)
    settings = Settings.from_env({}, data_dir=tmp_path, embed_max_batch=4)
    running = await start(settings, port=0, embedder=cached, taxonomy=VOCABULARY)
    try:
        await assert_eventually(lambda: len(cached) == 10)
        embedded = [text for call in counting.calls for text in call]
        assert sorted(embedded) == sorted(f"skill {i}" for i in range(10))  # names only, no aliases
        assert max(len(call) for call in counting.calls) <= 4
    finally:
        await running.stop(0)


async def test_draining_stops_an_unfinished_warm_up(counting: Any, tmp_path: Path) -> None:
    counting.gate = threading.Event()  # the first model call blocks until released
    cached = CachedEmbedder(counting)
    settings = Settings.from_env({}, data_dir=tmp_path, embed_max_batch=2)
    running = await start(settings, port=0, embedder=cached, taxonomy=VOCABULARY)
    await assert_eventually(counting.entered.is_set)
    try:
        await running.stop(0)  # returns while the first chunk is still in the model
    finally:
        counting.gate.set()
    assert len(counting.calls) == 1  # no second chunk of the ten names was asked for
