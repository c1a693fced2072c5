"""Helpers shared by the test suites."""

from __future__ import annotations

import asyncio
import inspect
import random
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
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


# Ports for servers a test starts come from below the kernel's ephemeral range. A port found free by binding port 0
# lies inside that range, and between the test closing its probe and the server binding it, any outgoing connection
# (a Redis client, a gRPC channel) may take it as its local port: the server then exits "Address already in use".
_EPHEMERAL_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"
_handed_out: set[int] = set()
_pick = random.SystemRandom()


def _port_range() -> tuple[int, int]:
    try:
        low = int(Path(_EPHEMERAL_RANGE).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return (10000, low) if low > 12000 else (low // 2, low)


def free_port() -> int:
    """A port nothing listens on and no outgoing connection can take, never the same twice in one run."""
    first, last = _port_range()
    for _ in range(500):
        port = _pick.randrange(first, last)
        if port in _handed_out:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port found in {first}-{last}")
