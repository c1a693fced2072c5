"""A private event loop on a daemon thread, so blocking code can run the async client's coroutines.

SchedulerClient owns one: each blocking call submits a coroutine of AsyncSchedulerClient to this loop and waits
for its result, and each blocking iterator steps an async generator there. Ctrl-C in the calling thread cancels
the coroutine it was waiting for."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import threading
from collections.abc import AsyncGenerator, Awaitable, Generator
from typing import TypeVar

T = TypeVar("T")


class LoopThread:
    """An asyncio loop running on its own daemon thread until close()."""

    def __init__(self, name: str = "skillbridge-client") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()
        self._closed = False

    def run(self, awaitable: Awaitable[T]) -> T:
        """Runs `awaitable` on the loop and returns its result, raising what it raised."""
        problem = ""
        if threading.current_thread() is self._thread:
            problem = "a blocking SchedulerClient call from inside one of its own callbacks"
        elif self._closed:
            problem = "the client is closed"
        if problem:
            if inspect.iscoroutine(awaitable):
                awaitable.close()  # never to run: close it, or Python warns that it was never awaited
            raise RuntimeError(problem)
        # The future exists before anything is scheduled, so a Ctrl-C at any point after this line (even while the
        # work is being handed to the loop, which asyncio.run_coroutine_threadsafe does not cover) cancels it.
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        try:
            self._loop.call_soon_threadsafe(self._start, awaitable, future)
            return future.result()
        except BaseException:
            future.cancel()  # KeyboardInterrupt or SystemExit while waiting: stop the work on the loop too
            raise

    def _start(self, awaitable: Awaitable[T], future: concurrent.futures.Future[T]) -> None:
        """On the loop: runs `awaitable` as a task whose outcome goes to `future`, and which `future`'s
        cancellation cancels."""
        if future.cancelled():
            if inspect.iscoroutine(awaitable):
                awaitable.close()
            return
        task = self._loop.create_task(_as_coroutine(awaitable))

        def report(done: asyncio.Task[T]) -> None:
            with contextlib.suppress(concurrent.futures.InvalidStateError):  # cancelled by the caller meanwhile
                if done.cancelled():
                    future.cancel()
                elif (error := done.exception()) is not None:
                    future.set_exception(error)
                else:
                    future.set_result(done.result())

        def cancel_task(finished: concurrent.futures.Future[T]) -> None:
            if finished.cancelled():
                self._loop.call_soon_threadsafe(task.cancel)

        task.add_done_callback(report)
        future.add_done_callback(cancel_task)

    def iterate(self, generator: AsyncGenerator[T, None]) -> Generator[T, None, None]:
        """A blocking iterator over `generator`, stepped on the loop; closing it closes the generator there."""
        try:
            while True:
                try:
                    yield self.run(generator.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            if not self._closed:
                # RuntimeError: it was still being cancelled after Ctrl-C, and ends by itself.
                with contextlib.suppress(RuntimeError):
                    self.run(generator.aclose())

    def close(self) -> None:
        """Stops the loop and joins its thread; later calls raise RuntimeError."""
        if self._closed:
            return
        self._closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable
