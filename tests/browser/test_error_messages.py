"""What the page says when the system says no, against real limits: a rate limit and a full queue are told apart
and the wait is the Retry-After the gateway sent; a refused field is marked on the form; when the scheduler is
down the page says so and carries on by itself when it is back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import Browser, expect
from skillbridge_client import AsyncSchedulerClient

from gateway.app import create_app
from services.common.settings import Settings
from services.scheduler.server import start
from tests.browser.page_support import OpenPage, open_page, screenshot, submit_analysis
from tests.gateway.live import served
from tests.scheduler.stage_doubles import Behavior
from tests.sdk.harness import JOB_DESCRIPTION, RESUME, Stack, running_stack
from tests.support import assert_eventually


@asynccontextmanager
async def gateway(settings: Settings, **overrides: object) -> AsyncIterator[str]:
    """A scheduler with `overrides` and a gateway in front of it; yields the gateway's base URL."""
    async with (
        running_stack(settings, **overrides) as stack,
        AsyncSchedulerClient(stack.address) as client,
        served(create_app(stack.settings, client=client)) as url,
    ):
        yield url


async def second_submit_error(browser: Browser, url: str) -> tuple[str, int]:
    """Submits twice from the page; returns the error text shown for the second and its Retry-After."""
    opened = await open_page(browser, url)
    page = opened.page
    await submit_analysis(page)
    await page.click("text=New analysis >> nth=0")
    async with page.expect_response(lambda r: r.url.endswith("/v1/jobs") and r.request.method == "POST") as info:
        await page.click("#submit")
    response = await info.value
    assert response.status == 429
    retry_after = int(await response.header_value("Retry-After") or "0")
    await expect(page.locator("#error")).to_be_visible()
    text = await page.locator("#error").text_content() or ""
    await screenshot(page, "web-page-429.png")
    await opened.context.close()
    return text, retry_after


async def test_a_rate_limit_is_called_a_rate_limit(browser: Browser, settings: Settings) -> None:
    limits = {"api_keys": "k1=alice:standard", "standard_submit_rate": 0.05, "standard_submit_burst": 1}
    async with gateway(settings, **limits) as url:
        text, retry_after = await second_submit_error(browser, f"{url}/?key=k1")
    assert retry_after >= 1
    assert text == f"You are over your rate limit for new analyses. Try again in {retry_after} s."
    assert "queue is full" not in text


async def test_a_full_queue_is_called_a_full_queue(browser: Browser, settings: Settings) -> None:
    async with gateway(settings, run_dispatcher=False, max_queue_depth=1) as url:
        text, retry_after = await second_submit_error(browser, url)
    assert text == f"The queue is full right now. Try again in {retry_after} s."


async def test_a_refused_field_is_marked_on_the_form(pages: OpenPage) -> None:
    page = (await pages()).page
    await page.fill("#resume", "   ")
    await page.fill("#job", JOB_DESCRIPTION)
    await page.click("#submit")
    await expect(page.locator("#error")).to_have_text("Please check the form. Resume: must not be empty.")
    await expect(page.locator("#resume")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#resume-error")).to_have_text("must not be empty")
    await expect(page.locator("#job")).not_to_have_attribute("aria-invalid", "true")
    # Fixed and sent again: the marks go.
    await page.fill("#resume", RESUME)
    await page.click("#submit")
    await expect(page.locator("#job-view")).to_be_visible()
    await expect(page.locator("#error")).to_be_hidden()
    await expect(page.locator("#resume")).not_to_have_attribute("aria-invalid", "true")


async def test_the_page_says_when_the_scheduler_is_down_and_recovers(browser: Browser, stack: Stack) -> None:
    """With the scheduler gone, the gateway ends the open event stream with an error and answers 503 to new ones
    (its client gives up after one reconnect here instead of twenty, so the test need not wait for that)."""
    stack.doubles.behaviors["CompareSkills"] = Behavior(hang=True)
    async with (
        AsyncSchedulerClient(stack.address, reconnect_attempts=1) as client,
        served(create_app(stack.settings, client=client)) as url,
    ):
        opened = await open_page(browser, url)
        page = opened.page
        job_id = await submit_analysis(page)
        similarity = page.locator('#stages li[data-stage="STAGE_SIMILARITY_ANALYSIS"]')
        await expect(similarity).to_have_attribute("data-state", "STAGE_STATE_RUNNING", timeout=10_000)
        port = stack.scheduler.port
        statuses: list[int] = []
        page.on("response", lambda r: statuses.append(r.status) if f"/v1/jobs/{job_id}/events" in r.url else None)
        await stack.scheduler.stop(0.1)
        await expect(page.locator("#error")).to_have_text(
            "The scheduler cannot be reached right now (503). The page retries on its own.", timeout=15_000
        )
        await expect(page.locator("#queue-health")).to_contain_text("Queue status unavailable")
        # A fresh look at the job meets the 503 on the event stream itself, and says the same.
        await page.reload()
        await expect(page.locator("#error")).to_contain_text("cannot be reached right now", timeout=15_000)
        await assert_eventually(lambda: 503 in statuses, message="the event stream was not refused with 503")
        await screenshot(page, "web-page-scheduler-down.png")
        # Back on the same store and port: the page resumes by itself and the job finishes.
        stack.doubles.behaviors["CompareSkills"] = Behavior()
        stack.scheduler = await start(stack.settings, port=port)
        await expect(page.locator("#report")).to_be_visible(timeout=30_000)
        await expect(page.locator("#error")).to_be_hidden()
        await expect(page.locator('#stages li[data-state="STAGE_STATE_SUCCEEDED"]')).to_have_count(6)
        # The interrupted attempt was handed back and run again: the timeline counts the stage's second start.
        await expect(similarity).to_have_attribute("data-retries", "1")
        await expect(similarity).to_contain_text("1 retry")
        await expect(page.locator("#events")).to_contain_text("attempt 2 started")
        assert opened.errors == []
        await opened.context.close()
