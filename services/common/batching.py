"""Micro-batching of CPU-bound model calls across concurrent requests.

Requests that arrive within a short window are joined into one call of `run(items)` in a worker thread, and
each caller gets back its own slice of the answer. One model call over 2n items costs less than two over n
(fewer Python round trips, larger matrix work), and the event loop stays free while the model runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Pending(Generic[Item, Result]):
    items: list[Item]
    done: asyncio.Future[list[Result]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class BatchRunner(Generic[Item, Result]):
    """Runs `run` over the items of all requests pending within `window_ms`, up to `max_batch` items a call.
    A request is never split across calls; one larger than `max_batch` runs alone."""

    def __init__(self, run: Callable[[list[Item]], list[Result]], *, window_ms: float, max_batch: int) -> None:
        self._run = run
        self._window = window_ms / 1000
        self._max_batch = max(max_batch, 1)
        self._pending: list[_Pending[Item, Result]] = []
        # The worker runs while requests are pending and ends when none are left; the next request starts one.
        self._worker: asyncio.Task[None] | None = None
        self.calls = 0  # model calls made, for tests and metrics

    async def run(self, items: Sequence[Item]) -> list[Result]:
        """The results for `items`, in order, computed together with whatever else is pending."""
        pending: _Pending[Item, Result] = _Pending(list(items))
        self._pending.append(pending)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain(), name="batch-runner")
        return await pending.done

    def _take(self) -> list[_Pending[Item, Result]]:
        batch: list[_Pending[Item, Result]] = []
        size = 0
        while self._pending and (not batch or size + len(self._pending[0].items) <= self._max_batch):
            request = self._pending.pop(0)
            if request.done.cancelled():
                continue
            batch.append(request)
            size += len(request.items)
        return batch

    async def _drain(self) -> None:
        if self._window > 0:
            # Let the requests of the concurrent jobs catch up: a few ms against a model call of tens.
            await asyncio.sleep(self._window)
        # No await between finding the list empty and returning: a request added meanwhile is always seen.
        while batch := self._take():
            items = [item for request in batch for item in request.items]
            self.calls += 1
            try:
                results = await asyncio.to_thread(self._run, items)
            except Exception as exc:  # every caller of the batch gets the error
                for request in batch:
                    if not request.done.done():
                        request.done.set_exception(exc)
                continue
            start = 0
            for request in batch:
                end = start + len(request.items)
                if not request.done.done():
                    request.done.set_result(results[start:end])
                start = end
