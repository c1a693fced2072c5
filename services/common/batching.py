"""Micro-batching of CPU-bound model calls across concurrent requests.

Requests that arrive within a short window are joined into one call of `run(items)` in a worker thread, and
each caller gets back its own slice of the answer. One model call over 2n items costs less than two over n
(fewer Python round trips, larger matrix work), and the event loop stays free while the model runs. The
embedding service batches sentences this way, the NER service documents.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Request(Generic[Item, Result]):
    items: list[Item]
    future: asyncio.Future[list[Result]]
    arrived: float = field(default_factory=time.monotonic)


class BatchRunner(Generic[Item, Result]):
    """Merges concurrent `run` calls into one call of the model function.

    A batch closes `window_ms` after its oldest request arrived, or as soon as it holds `max_batch` items.
    Requests are never split, so one larger than `max_batch` goes alone. Model calls run one at a time in a
    worker thread (two concurrent calls would only fight over the same cores); what arrives meanwhile waits for
    the next batch. A caller that gives up (cancelled, deadline) is skipped.
    """

    def __init__(self, model: Callable[[list[Item]], Sequence[Result]], *, window_ms: float, max_batch: int) -> None:
        if window_ms < 0:
            raise ValueError("window_ms must not be negative")
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._model = model
        self._window = window_ms / 1000.0
        self._max_batch = max_batch
        self._pending: list[_Request[Item, Result]] = []
        self._pending_items = 0
        self._full = asyncio.Event()
        # The worker runs while requests are pending and ends when none are left; the next request starts one.
        self._worker: asyncio.Task[None] | None = None
        self.model_calls = 0

    async def run(self, items: Sequence[Item]) -> list[Result]:
        """The results for `items`, in order, computed together with whatever else arrives within the window."""
        future: asyncio.Future[list[Result]] = asyncio.get_running_loop().create_future()
        self._pending.append(_Request(list(items), future))
        self._pending_items += len(items)
        if self._pending_items >= self._max_batch:
            self._full.set()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain(), name="batch-runner")
        return await future

    async def aclose(self) -> None:
        """Stops the worker; callers still waiting get CancelledError."""
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        for request in self._pending:
            request.future.cancel()
        self._pending.clear()
        self._pending_items = 0

    async def _drain(self) -> None:
        # No await between finding the list empty and returning: a request added meanwhile is always seen.
        while self._pending:
            if self._pending_items < self._max_batch:
                remaining = self._pending[0].arrived + self._window - time.monotonic()
                if remaining > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._full.wait(), remaining)
            batch = self._take()
            if batch:
                await self._call(batch)

    def _take(self) -> list[_Request[Item, Result]]:
        batch: list[_Request[Item, Result]] = []
        count = 0
        while self._pending and (not batch or count + len(self._pending[0].items) <= self._max_batch):
            request = self._pending.pop(0)
            self._pending_items -= len(request.items)
            if request.future.done():  # the caller gave up: skip its items
                continue
            batch.append(request)
            count += len(request.items)
        if self._pending_items < self._max_batch:
            self._full.clear()
        return batch

    async def _call(self, batch: list[_Request[Item, Result]]) -> None:
        items = [item for request in batch for item in request.items]
        self.model_calls += 1
        try:
            results = list(await asyncio.to_thread(self._model, items))
            if len(results) != len(items):
                raise RuntimeError(f"the model returned {len(results)} results for {len(items)} items")
        except asyncio.CancelledError:
            for request in batch:
                request.future.cancel()
            raise
        except Exception as exc:  # every caller of the batch gets the model's error
            log.warning("a batch of %d items failed: %r", len(items), exc)
            for request in batch:
                if not request.future.done():
                    request.future.set_exception(exc)
            return
        start = 0
        for request in batch:
            end = start + len(request.items)
            if not request.future.done():
                request.future.set_result(results[start:end])
            start = end
