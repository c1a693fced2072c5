"""cancel_and_wait ends tasks that swallow a cancellation, which a plain cancel-then-await does not."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from services.common.tasks import cancel_and_wait


async def swallows_first_cancel(entered: asyncio.Event) -> None:
    """What asyncio.wait_for does on 3.11 when its inner call completes as the cancellation arrives."""
    entered.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(3600)
    await asyncio.sleep(3600)  # goes on, as a loop would


async def test_a_task_that_swallowed_its_cancellation_is_cancelled_again_until_it_ends() -> None:
    entered = asyncio.Event()
    task = asyncio.create_task(swallows_first_cancel(entered))
    await entered.wait()
    async with asyncio.timeout(10):
        await cancel_and_wait(task)
    assert task.cancelled()


async def test_a_plain_cancel_leaves_such_a_task_running() -> None:
    entered = asyncio.Event()
    task = asyncio.create_task(swallows_first_cancel(entered))
    await entered.wait()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=0.2)
    assert not done  # the failure cancel_and_wait exists for
    await cancel_and_wait(task)


async def test_finished_failed_and_missing_tasks_are_accepted_and_a_failure_is_retrieved() -> None:
    async def fails() -> None:
        raise ValueError("boom")

    failed = asyncio.create_task(fails())
    finished = asyncio.create_task(asyncio.sleep(0))
    await asyncio.wait({failed, finished})
    await cancel_and_wait(failed, finished, None)
    assert finished.done() and not finished.cancelled()
    with pytest.raises(ValueError):
        failed.result()
