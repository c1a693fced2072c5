"""The web page in headless Chromium against a real gateway (uvicorn) and scheduler with slow stage doubles:
the stages advance live and the report appears; the cancel button really cancels the job on the server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Route, async_playwright, expect
from skillbridge.scheduler.v1 import job_pb2
from skillbridge_client import AsyncSchedulerClient

from gateway.app import create_app
from services.common.settings import Settings
from tests.gateway.live import served
from tests.scheduler.stage_doubles import Behavior
from tests.sdk.harness import JOB_DESCRIPTION, RESUME, Stack, running_stack
from tests.support import assert_eventually

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

if not CHROMIUM.exists() and os.environ.get("SKILLBRIDGE_REQUIRE_SERVICES") != "1":
    pytest.skip(
        "Chromium is not installed at /usr/bin/chromium (run scripts/install_browser.sh)", allow_module_level=True
    )


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    async with running_stack(settings) as running:
        for rpc in ("ExtractSkills", "CompareSkills", "SearchCourses", "RecommendCourses"):
            running.doubles.behaviors[rpc] = Behavior(delay=0.3)
        yield running


@pytest.fixture
async def base_url(stack: Stack) -> AsyncIterator[str]:
    async with AsyncSchedulerClient(stack.address) as client, served(create_app(stack.settings, client=client)) as url:
        yield url


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield launched
        await launched.close()


async def test_submit_shows_live_stages_then_report(browser: Browser, base_url: str) -> None:
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(base_url)
    await page.fill("#resume", RESUME)
    await page.fill("#job", JOB_DESCRIPTION)
    await page.click("#submit")
    await expect(page.locator("#live")).to_be_visible()
    # A stage is seen running before the end: the view is live, not a final render.
    running = page.locator('#stages tr[data-state="STAGE_STATE_RUNNING"]')
    await expect(running).to_have_count(1, timeout=10_000)
    await expect(page.locator("#skills-found")).to_contain_text("skills found", timeout=10_000)
    await expect(page.locator("#report")).to_be_visible(timeout=20_000)
    await expect(page.locator('#stages tr[data-state="STAGE_STATE_SUCCEEDED"]')).to_have_count(6)
    await expect(page.locator("#progress-text")).to_have_text("100%")
    await expect(page.locator("#missing")).to_contain_text("Kubernetes")
    await expect(page.locator("#missing")).to_contain_text("Kafka")
    await expect(page.locator("#matched")).to_contain_text("Python")
    await expect(page.locator("#courses .course")).to_have_count(2)
    await expect(page.locator("#courses")).to_contain_text("Potential score")
    await expect(page.locator("#courses")).to_contain_text("Covers")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "web-page-report.png"), full_page=True)
    assert errors == []


async def test_cancel_button_cancels_on_server(browser: Browser, base_url: str, stack: Stack) -> None:
    stack.doubles.behaviors["CompareSkills"] = Behavior(hang=True)
    page = await browser.new_page()
    await page.goto(base_url)
    await page.fill("#resume", RESUME)
    await page.fill("#job", JOB_DESCRIPTION)
    await page.click("#submit")
    await expect(page.locator('#stages tr[data-stage="STAGE_SIMILARITY_ANALYSIS"]')).to_have_attribute(
        "data-state", "STAGE_STATE_RUNNING", timeout=10_000
    )
    job_id = await page.locator("#job-id").text_content()
    assert job_id
    await page.click("#cancel")
    await expect(page.locator("#state")).to_have_text("cancelled", timeout=10_000)
    await expect(page.locator("#error")).to_contain_text("cancelled")
    async with AsyncSchedulerClient(stack.address) as client:
        assert (await client.get(job_id)).state == job_pb2.JOB_STATE_CANCELLED
    await assert_eventually(stack.doubles.was_cancelled("CompareSkills").is_set)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "web-page-cancelled.png"), full_page=True)


async def test_page_falls_back_to_polling_when_the_event_stream_fails(browser: Browser, base_url: str) -> None:
    page = await browser.new_page()
    stream_requests: list[str] = []
    polls: list[str] = []

    async def refuse(route: Route) -> None:
        stream_requests.append(route.request.url)
        await route.abort()

    await page.route("**/events*", refuse)
    page.on("request", lambda r: polls.append(r.url) if "/jobs/status/" in r.url or "/v1/jobs/" in r.url else None)
    await page.goto(base_url)
    await page.fill("#resume", RESUME)
    await page.fill("#job", JOB_DESCRIPTION)
    await page.click("#submit")
    await expect(page.locator("#report")).to_be_visible(timeout=30_000)
    await expect(page.locator("#missing")).to_contain_text("Kubernetes")
    assert stream_requests, "the page never tried the event stream"
    status_polls = [u for u in polls if "/events" not in u]
    assert len(status_polls) >= 2, "the report came without polling the job's status"
