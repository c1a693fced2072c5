"""Fixtures of the gateway tests: create_app wired to a real in-process scheduler with stage doubles,
driven through httpx's ASGI transport."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from skillbridge_client import AsyncSchedulerClient

from gateway.app import create_app
from services.common.settings import Settings
from tests.sdk.harness import Stack, running_stack


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    async with running_stack(settings) as running:
        yield running


@pytest.fixture
async def app(stack: Stack) -> AsyncIterator[FastAPI]:
    async with AsyncSchedulerClient(stack.address, timeout=5.0) as client:
        yield create_app(stack.settings, client=client)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test") as c:
        yield c
