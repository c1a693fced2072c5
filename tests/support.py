"""Helpers shared by the test suites."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def assert_eventually(
    predicate: Callable[[], Any | Awaitable[Any]], *, within: float = 10.0, message: str = ""
) -> Any:
    """Re-checks `predicate` until it returns something truthy, failing after `within` seconds.
    The pause between checks is a polling interval, not synchronisation: the condition decides."""
    deadline = time.monotonic() + within
    last: Any = None
    while True:
        last = predicate()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {within} s (last value {last!r})")
        await asyncio.sleep(0.01)


def wait_until(predicate: Callable[[], Any], *, within: float = 10.0, message: str = "") -> Any:
    """The blocking twin of assert_eventually, for tests that drive subprocesses."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {within} s")
        time.sleep(0.02)
