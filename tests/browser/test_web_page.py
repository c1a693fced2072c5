"""The web page in headless Chromium against a real gateway (uvicorn) and scheduler with slow stage doubles, at a
desktop width and at a phone's: the stages advance live, the report shows course links and scores rounded as
the CLI rounds them, the cancel button really cancels, and the page falls back to polling without a stream."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Route, expect
from skillbridge.scheduler.v1 import job_pb2
from skillbridge_client import AsyncSchedulerClient

from tests.browser.page_support import OpenPage, horizontal_overflow, screenshot, submit_analysis
from tests.scheduler.stage_doubles import Behavior
from tests.sdk.harness import Stack
from tests.support import assert_eventually


@pytest.mark.parametrize("width", ["desktop", "phone"])
async def test_submit_shows_live_stages_then_report(pages: OpenPage, base_url: str, width: str) -> None:
    opened = await pages("/", width)
    page = opened.page
    assert await horizontal_overflow(page) == 0
    await submit_analysis(page)
    await expect(page.locator("#live")).to_be_visible()
    # A stage is seen running before the end: the view is live, not a final render.
    await expect(page.locator('#stages li[data-state="STAGE_STATE_RUNNING"]')).to_have_count(1, timeout=10_000)
    await expect(page.locator("#skills-found")).to_contain_text("skills found", timeout=10_000)
    await expect(page.locator("#report")).to_be_visible(timeout=20_000)
    await expect(page.locator('#stages li[data-state="STAGE_STATE_SUCCEEDED"]')).to_have_count(6)
    await expect(page.locator("#progress-text")).to_have_text("100%")
    await expect(page.locator("#state")).to_have_text("succeeded")
    await expect(page.locator("#missing")).to_contain_text("Kubernetes")
    await expect(page.locator("#missing")).to_contain_text("Kafka")
    await expect(page.locator("#matched")).to_contain_text("Python")
    # 2 of the 4 job skills: round(100 * 2 / 4) = 50, as SEED.md computes the match score.
    await expect(page.locator("#score")).to_have_text("50%")
    await expect(page.locator("#score-basis")).to_contain_text("2 of 4 job skills")
    courses = page.locator("#courses .course")
    await expect(courses).to_have_count(2)
    # Each course links to its page in the catalog.
    link = courses.first.locator("a.course-link")
    await expect(link).to_have_attribute("href", "https://courses.example.org/learn-kubernetes")
    await expect(link).to_have_attribute("rel", "noopener noreferrer")
    # The doubles score each course 0.5 + 0.25: in percent with one decimal, as the CLI prints it.
    await expect(courses.first).to_contain_text("Potential score 75.0% (+25.0 points)")
    await expect(page.locator("#courses")).to_contain_text("Covers")
    # The timeline says when each stage started and how long it took.
    first = page.locator('#stages li[data-stage="STAGE_ENTITY_RECOGNITION"]')
    # (Durations, not exact figures: the machine may be busy. The double's skill extraction takes 0.3 s or more.)
    await expect(first).to_contain_text(re.compile(r"start \+0\.\d\d s"))
    took = re.compile(r"took (0\.[3-9]\d|[1-9][\d.]*) s")
    await expect(page.locator('#stages li[data-stage="STAGE_SKILL_EXTRACTION"]')).to_contain_text(took)
    assert await horizontal_overflow(page) == 0, "the report is wider than the screen"
    await screenshot(page, f"web-page-report-{width}.png")
    assert opened.errors == []
    assert opened.console_errors == []  # nothing refused by the Content-Security-Policy, nothing failed to load


async def test_cancel_button_cancels_on_server(pages: OpenPage, base_url: str, stack: Stack) -> None:
    stack.doubles.behaviors["CompareSkills"] = Behavior(hang=True)
    page = (await pages()).page
    job_id = await submit_analysis(page)
    await expect(page.locator('#stages li[data-stage="STAGE_SIMILARITY_ANALYSIS"]')).to_have_attribute(
        "data-state", "STAGE_STATE_RUNNING", timeout=10_000
    )
    await page.click("#cancel")
    await expect(page.locator("#state")).to_have_text("cancelled", timeout=10_000)
    await expect(page.locator("#error")).to_contain_text("cancelled")
    await expect(page.locator("#cancel")).to_be_disabled()
    async with AsyncSchedulerClient(stack.address) as client:
        assert (await client.get(job_id)).state == job_pb2.JOB_STATE_CANCELLED
    await assert_eventually(stack.doubles.was_cancelled("CompareSkills").is_set)
    await screenshot(page, "web-page-cancelled.png")


async def test_page_falls_back_to_polling_when_the_event_stream_fails(pages: OpenPage, base_url: str) -> None:
    opened = await pages()
    page = opened.page
    stream_requests: list[str] = []
    polls: list[str] = []

    async def refuse(route: Route) -> None:
        stream_requests.append(route.request.url)
        await route.abort()

    await page.route("**/events*", refuse)
    page.on("request", lambda r: polls.append(r.url) if "/v1/jobs/" in r.url and "/events" not in r.url else None)
    await submit_analysis(page)
    await expect(page.locator("#report")).to_be_visible(timeout=30_000)
    await expect(page.locator("#missing")).to_contain_text("Kubernetes")
    assert stream_requests, "the page never tried the event stream"
    assert len(polls) >= 2, "the report came without polling the job's status"
    await expect(page.locator("#error")).to_be_hidden()
    assert opened.errors == []
