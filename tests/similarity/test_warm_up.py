"""The vocabulary's skill names are embedded in the background after the first start, through the service's own
batcher, and kept on disk for the next; the warm-up stops when the server drains."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from skillbridge.similarity.v1 import similarity_service_pb2 as pb
from skillbridge.similarity.v1 import similarity_service_pb2_grpc as pb_grpc

from services.common.embedding import CachedEmbedder
from services.common.settings import Settings
from services.common.taxonomy import Skill, Taxonomy
from services.similarity.server import start
from services.similarity.vocabulary_vectors import PrecomputedFirst, read_vectors
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


def write_vocabulary(data_dir: Path, count: int) -> None:
    lines = [json.dumps({"name": f"Skill {i}", "category": "Test", "aliases": [f"alias {i}"]}) for i in range(count)]
    (data_dir / "skills.jsonl").write_text("\n".join(lines) + "\n")


async def test_the_first_start_writes_the_vectors_and_the_next_reads_them(counting: Any, tmp_path: Path) -> None:
    write_vocabulary(tmp_path, 6)
    settings = Settings.from_env({}, data_dir=tmp_path, embed_max_batch=4)
    first = await start(settings, port=0, embedder=counting)
    try:
        files = await assert_eventually(lambda: list(tmp_path.glob(".skills.jsonl.vectors-*.npy")))
    finally:
        await first.stop(0)
    assert len(files) == 1 and len(counting.calls) == 2  # 6 names in chunks of 4
    counting.calls.clear()
    second = await start(settings, port=0, embedder=counting)
    try:
        async with grpc.aio.insecure_channel(second.address) as channel:
            stub = pb_grpc.SimilarityServiceStub(channel)
            reply = await stub.CompareSkills(pb.CompareSkillsRequest(resume_skills=["Skill 1"], job_skills=["Skill 2"]))
        assert reply.best_matches[0].resume_skill == "Skill 1"
        assert counting.calls == []  # every name came from the file
    finally:
        await second.stop(0)
    # A changed vocabulary gets new vectors, and the old file goes.
    write_vocabulary(tmp_path, 7)
    third = await start(settings, port=0, embedder=counting)
    try:
        await assert_eventually(lambda: set(tmp_path.glob(".skills.jsonl.vectors-*.npy")) - set(files))
    finally:
        await third.stop(0)
    assert [p.exists() for p in files] == [False]


def test_precomputed_rows_are_used_and_only_other_texts_reach_the_model(counting: Any) -> None:
    row = np.ones(counting.dimensions, dtype=np.float32)
    embedder = PrecomputedFirst(counting, {"kubernetes": row})
    vectors = embedder.embed(["Kubernetes", "Docker"])
    np.testing.assert_array_equal(vectors[0], row)
    np.testing.assert_allclose(vectors[1], counting.vector("Docker"))
    assert counting.calls == [["Docker"]]


def test_a_vectors_file_of_the_wrong_shape_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / ".skills.jsonl.vectors-x.npy"
    np.save(path, np.zeros((3, 8), dtype=np.float32))
    assert read_vectors(path, 3, 8) is not None
    assert read_vectors(path, 4, 8) is None and read_vectors(tmp_path / "missing.npy", 3, 8) is None
    path.write_bytes(b"not numpy")
    assert read_vectors(path, 3, 8) is None
