"""The micro-batcher around CPU-bound model calls (a counting fake stands in for the model: this is about the
batching, the real NER model is tested through the NER service)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from services.common.batching import BatchRunner


class CountingModel:
    def __init__(self, fail_on: str = "") -> None:
        self.calls: list[list[str]] = []
        self.fail_on = fail_on
        self.lock = threading.Lock()

    def __call__(self, items: list[str]) -> list[str]:
        with self.lock:
            self.calls.append(list(items))
        if self.fail_on and self.fail_on in items:
            raise ValueError(f"cannot handle {self.fail_on}")
        return [item.upper() for item in items]


async def test_concurrent_requests_share_one_call_and_get_their_own_answers() -> None:
    model = CountingModel()
    runner = BatchRunner(model, window_ms=20, max_batch=32)
    answers = await asyncio.gather(*(runner.run([f"a{i}", f"b{i}"]) for i in range(8)))
    assert answers == [[f"A{i}", f"B{i}"] for i in range(8)]
    assert len(model.calls) == 1 and len(model.calls[0]) == 16


async def test_batches_respect_the_size_cap_and_never_split_a_request() -> None:
    model = CountingModel()
    runner = BatchRunner(model, window_ms=20, max_batch=4)
    answers = await asyncio.gather(*(runner.run(["x", "y", "z"]) for _ in range(3)), runner.run(list("abcdef")))
    assert answers[-1] == list("ABCDEF")
    assert all(len(call) <= 4 or call == list("abcdef") for call in model.calls)
    assert sorted(len(c) for c in model.calls) == [3, 3, 3, 6]


async def test_an_error_reaches_every_caller_of_its_batch_only() -> None:
    model = CountingModel(fail_on="bad")
    runner = BatchRunner(model, window_ms=20, max_batch=2)
    results = await asyncio.gather(
        runner.run(["bad"]), runner.run(["ok"]), runner.run(["fine"]), return_exceptions=True
    )
    assert isinstance(results[0], ValueError) and isinstance(results[1], ValueError)
    assert results[2] == ["FINE"]


async def test_a_later_request_after_the_worker_finished_still_runs() -> None:
    model = CountingModel()
    runner = BatchRunner(model, window_ms=0, max_batch=8)
    assert await runner.run(["one"]) == ["ONE"]
    assert await runner.run(["two"]) == ["TWO"]
    assert len(model.calls) == 2


async def test_a_cancelled_caller_is_dropped() -> None:
    model = CountingModel()
    runner = BatchRunner(model, window_ms=50, max_batch=8)
    doomed = asyncio.ensure_future(runner.run(["gone"]))
    kept = asyncio.ensure_future(runner.run(["kept"]))
    await asyncio.sleep(0)
    doomed.cancel()
    assert await kept == ["KEPT"]
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert model.calls == [["kept"]]
