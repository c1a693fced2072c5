"""Fixtures of the SDK tests: a scheduler with stage doubles and an async client bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from skillbridge_client import AsyncSchedulerClient

from services.common.settings import Settings
from tests.sdk.harness import Stack, running_stack


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    async with running_stack(settings) as running:
        yield running


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[AsyncSchedulerClient]:
    async with AsyncSchedulerClient(stack.address, timeout=5.0) as c:
        yield c
