"""The shared embedder: cache and micro-batcher with a counting stand-in, and batching parity on MiniLM."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np
import pytest

from services.common.embedding import CachedEmbedder, MicroBatcher, MiniLmEmbedder, normalise_text


def test_normalise_text_casefolds_and_collapses_whitespace() -> None:
    assert normalise_text("  Apache\tSPARK \n ") == "apache spark"


def test_cache_dedupes_and_reuses_rows_by_normalised_text(counting: Any) -> None:
    cached = CachedEmbedder(counting)
    first = cached.embed(["Python", "python ", "SQL"])
    assert counting.calls == [["python", "sql"]]
    np.testing.assert_array_equal(first[0], first[1])
    again = cached.embed(["PYTHON", "Go"])
    assert counting.calls[-1] == ["go"]
    np.testing.assert_array_equal(again[0], first[0])
    assert (cached.hits, cached.misses) == (2, 3)


def test_cache_is_bounded_and_evicts_least_recently_used(counting: Any) -> None:
    cached = CachedEmbedder(counting, max_entries=2)
    cached.embed(["a", "b"])
    cached.embed(["a"])  # "a" is now the most recent
    cached.embed(["c"])  # evicts "b"
    assert len(cached) == 2
    cached.embed(["a", "b"])
    assert counting.calls[-1] == ["b"]


async def test_concurrent_callers_share_one_model_call_and_get_their_own_rows(counting: Any) -> None:
    batcher = MicroBatcher(counting, window_ms=5_000, max_batch=8)
    texts = [[f"skill {i}"] for i in range(8)]
    results = await asyncio.gather(*(batcher.embed(t) for t in texts))
    # The batch closed because it was full, not because the (long) window ran out.
    assert len(counting.calls) == 1
    assert sorted(counting.calls[0]) == sorted(t[0] for t in texts)
    for t, rows in zip(texts, results, strict=True):
        np.testing.assert_array_equal(rows, counting.vector(t[0])[None, :])


async def test_batches_never_exceed_max_batch_and_requests_are_not_split(counting: Any) -> None:
    batcher = MicroBatcher(counting, window_ms=20, max_batch=6)
    requests = [[f"r{i}-{j}" for j in range(3)] for i in range(5)]
    results = await asyncio.gather(*(batcher.embed(r) for r in requests))
    assert [len(c) for c in counting.calls] == [6, 6, 3]
    for request, rows in zip(requests, results, strict=True):
        assert rows.shape == (3, counting.dimensions)
        np.testing.assert_array_equal(rows, np.stack([counting.vector(t) for t in request]))


async def test_a_request_larger_than_max_batch_goes_alone(counting: Any) -> None:
    batcher = MicroBatcher(counting, window_ms=1, max_batch=4)
    rows = await batcher.embed([f"t{i}" for i in range(10)])
    assert rows.shape == (10, counting.dimensions)
    assert [len(c) for c in counting.calls] == [10]


async def test_requests_arriving_during_a_model_call_form_the_next_batch(counting: Any) -> None:
    counting.gate = threading.Event()
    batcher = MicroBatcher(counting, window_ms=0, max_batch=64)
    first = asyncio.create_task(batcher.embed(["first"]))
    await asyncio.to_thread(counting.entered.wait, 10)  # the model is now busy with "first"
    later = [asyncio.create_task(batcher.embed([f"later {i}"])) for i in range(5)]
    await asyncio.sleep(0)  # let the five enqueue; this orders tasks, it does not wait for time
    counting.gate.set()
    await asyncio.gather(first, *later)
    assert counting.calls[0] == ["first"]
    assert sorted(counting.calls[1]) == [f"later {i}" for i in range(5)]
    assert len(counting.calls) == 2


async def test_a_model_error_reaches_every_caller_of_the_batch_and_the_next_batch_works(counting: Any) -> None:
    counting.fail_with = RuntimeError("model broke")
    batcher = MicroBatcher(counting, window_ms=5_000, max_batch=2)
    outcomes = await asyncio.gather(batcher.embed(["a"]), batcher.embed(["b"]), return_exceptions=True)
    assert all(isinstance(o, RuntimeError) and str(o) == "model broke" for o in outcomes)
    counting.fail_with = None
    rows = await batcher.embed(["a", "b"])
    np.testing.assert_array_equal(rows[1], counting.vector("b"))


async def test_a_cancelled_caller_is_dropped_and_others_are_served(counting: Any) -> None:
    batcher = MicroBatcher(counting, window_ms=50, max_batch=64)
    gone = asyncio.create_task(batcher.embed(["gone"]))
    await asyncio.sleep(0)  # let it enqueue
    gone.cancel()
    rows = await batcher.embed(["kept"])
    assert gone.cancelled()
    assert counting.calls == [["kept"]]
    np.testing.assert_array_equal(rows[0], counting.vector("kept"))


async def test_cached_texts_are_answered_without_a_model_call(counting: Any) -> None:
    batcher = MicroBatcher(CachedEmbedder(counting), window_ms=5_000, max_batch=2)
    await batcher.embed(["Kubernetes", "Docker"])
    rows = await batcher.embed(["kubernetes", "  DOCKER"])  # would wait 5 s for a window if not cached
    assert len(counting.calls) == 1 and batcher.model_calls == 1
    np.testing.assert_array_equal(rows[0], counting.vector("kubernetes"))


async def test_empty_input_gives_an_empty_matrix(counting: Any) -> None:
    batcher = MicroBatcher(counting, window_ms=1, max_batch=4)
    assert (await batcher.embed([])).shape == (0, counting.dimensions)
    assert counting.calls == []


@pytest.mark.ml
async def test_minilm_batched_equals_unbatched(minilm: MiniLmEmbedder) -> None:
    texts = [
        "PostgreSQL",
        "Data engineer experienced in PySpark and Airflow",
        "k8s",
        "Machine learning with scikit-learn, pandas and NumPy for tabular data problems",
        "Excel",
        "Terraform",
        "Building REST APIs with FastAPI",
        "Pastry chef",
    ]
    unbatched = np.stack([minilm.embed([t])[0] for t in texts])
    batcher = MicroBatcher(minilm, window_ms=5_000, max_batch=len(texts))
    batched = np.concatenate(await asyncio.gather(*(batcher.embed([t]) for t in texts)))
    assert batcher.model_calls == 1
    assert batched.dtype == np.float32 and batched.shape == (len(texts), minilm.dimensions)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(batched, unbatched, atol=1e-5)
