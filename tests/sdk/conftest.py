"""Fixtures of the SDK tests: a scheduler with stage doubles and an async client bound to it, and a scripted
scheduler for the client's side of the wire."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from skillbridge_client import AsyncSchedulerClient

from services.common.settings import Settings
from tests.sdk.harness import Stack, running_stack
from tests.sdk.scripted import ScriptedServer, start_scripted


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    async with running_stack(settings) as running:
        yield running


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[AsyncSchedulerClient]:
    async with AsyncSchedulerClient(stack.address, timeout=5.0) as c:
        yield c


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = start_scripted()
    yield server
    server.stop()
