"""Fixtures of the browser tests: a real scheduler with slow stage doubles, the gateway served by uvicorn, and
headless Chromium (Debian's, at /usr/bin/chromium) driven through Playwright."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, async_playwright
from skillbridge_client import AsyncSchedulerClient

from gateway.app import create_app
from services.common.settings import Settings
from tests.browser.page_support import Opened, OpenPage, open_page
from tests.gateway.live import served
from tests.scheduler.stage_doubles import Behavior
from tests.sdk.harness import Stack, running_stack

CHROMIUM = Path("/usr/bin/chromium")

STAGE_RPCS = ("ExtractSkills", "CompareSkills", "SearchCourses", "RecommendCourses")


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    async with running_stack(settings) as running:
        for rpc in STAGE_RPCS:
            running.doubles.behaviors[rpc] = Behavior(delay=0.3)
        yield running


@pytest.fixture
async def base_url(stack: Stack) -> AsyncIterator[str]:
    async with AsyncSchedulerClient(stack.address) as client, served(create_app(stack.settings, client=client)) as url:
        yield url


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium; the browser tests skip without it, except in CI, where it must be there."""
    if not CHROMIUM.exists() and os.environ.get("SKILLBRIDGE_REQUIRE_SERVICES") != "1":
        pytest.skip("Chromium is not installed at /usr/bin/chromium (run scripts/install_browser.sh)")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium), headless=True, args=["--no-sandbox"])
        yield launched
        await launched.close()


@pytest.fixture
async def pages(browser: Browser, base_url: str) -> AsyncIterator[OpenPage]:
    """Opens pages of the gateway; closes them before the gateway stops, so none polls a server that is gone."""
    opened: list[Opened] = []

    async def open_one(path: str = "/", width: str | dict[str, int] = "desktop", **options: Any) -> Opened:
        page = await open_page(browser, base_url + path, width, **options)
        opened.append(page)
        return page

    yield open_one
    for one in opened:
        await one.page.unroute_all(behavior="ignoreErrors")
        await one.context.close()
