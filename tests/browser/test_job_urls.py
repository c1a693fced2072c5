"""Each job at its own address: /jobs/{id} survives a reload and resumes its stream, a job id from the CLI (or
the SDK) opens in the browser, a dropped stream resumes with Last-Event-ID, several analyses run side by side
and the list of the caller's jobs shows them all with state, match score and time."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Request, expect
from skillbridge_client import AsyncSchedulerClient

from tests.browser.page_support import (
    CuttableProxy,
    OpenPage,
    horizontal_overflow,
    open_page,
    screenshot,
    submit_analysis,
)
from tests.scheduler.stage_doubles import Behavior
from tests.sdk.harness import JOB_DESCRIPTION, RESUME, Stack


async def test_reload_keeps_the_job_and_resumes_its_stream(pages: OpenPage, base_url: str, stack: Stack) -> None:
    stack.doubles.behaviors["SearchCourses"] = Behavior(delay=1.5)
    opened = await pages()
    page = opened.page
    job_id = await submit_analysis(page)
    similarity = page.locator('#stages li[data-stage="STAGE_SIMILARITY_ANALYSIS"]')
    await expect(similarity).to_have_attribute("data-state", "STAGE_STATE_SUCCEEDED", timeout=10_000)
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if f"/v1/jobs/{job_id}/events" in r.url else None)
    await page.reload()
    # The same job, its finished stages rebuilt from the replayed events, then live to the end.
    await expect(page.locator("#job-id")).to_have_text(job_id)
    await expect(similarity).to_have_attribute("data-state", "STAGE_STATE_SUCCEEDED")
    await expect(similarity).to_contain_text("took 0.")
    await expect(page.locator('#stages li[data-stage="STAGE_COURSE_RETRIEVAL"]')).to_have_attribute(
        "data-state", "STAGE_STATE_RUNNING"
    )
    await expect(page.locator("#report")).to_be_visible(timeout=20_000)
    assert streams, "the reloaded page did not open the job's event stream"
    assert opened.errors == []


async def test_a_job_id_from_the_cli_opens_in_the_browser(pages: OpenPage, base_url: str, stack: Stack) -> None:
    async with AsyncSchedulerClient(stack.address) as client:
        job = await client.submit_analysis(RESUME, JOB_DESCRIPTION)
        await client.wait(job.id, timeout=20)
    page = (await pages(f"/jobs/{job.id}", "phone")).page
    await expect(page.locator("#job-id")).to_have_text(job.id)
    await expect(page.locator("#report")).to_be_visible(timeout=20_000)
    await expect(page.locator("#score")).to_have_text("50%")
    # A finished job's page still shows its history: the timeline and the log come from its replayed events.
    await expect(page.locator("#events-summary")).to_have_text("Event log (15 events)")
    await expect(page.locator("#state")).to_have_text("succeeded")
    await expect(page.locator('#stages li[data-stage="STAGE_COURSE_RETRIEVAL"]')).to_contain_text("took 0.3")
    await expect(page.locator("#job-cli")).to_have_text(f"skillbridge watch {job.id}")
    # The same job typed into "Open a job by its id" from the start page.
    await page.goto(base_url)
    await page.fill("#open-id", f"  {job.id} ")
    await page.press("#open-id", "Enter")
    await expect(page).to_have_url(f"{base_url}/jobs/{job.id}")
    await expect(page.locator("#report")).to_be_visible(timeout=10_000)


async def test_an_unknown_job_id_says_so(pages: OpenPage, base_url: str) -> None:
    page = (await pages("/jobs/no-such-job")).page
    await expect(page.locator("#error")).to_contain_text("No job with this id", timeout=10_000)
    await expect(page.locator("#state")).to_have_text("not found")


async def test_a_dropped_stream_resumes_with_last_event_id(browser: Browser, base_url: str, stack: Stack) -> None:
    stack.doubles.behaviors["CompareSkills"] = Behavior(delay=1.0)
    port = int(base_url.rsplit(":", 1)[1])
    async with CuttableProxy(port) as proxy:
        await _resume_after_cut(browser, f"http://127.0.0.1:{proxy.port}", proxy)


async def _resume_after_cut(browser: Browser, base_url: str, proxy: CuttableProxy) -> None:
    opened = await open_page(browser, base_url)
    page = opened.page
    reconnects: list[str] = []

    async def remember(request: Request) -> None:
        headers = await request.all_headers()  # .headers leaves some out
        if "/events" in request.url and "last-event-id" in headers:
            reconnects.append(headers["last-event-id"])

    page.on("request", remember)
    await submit_analysis(page)
    similarity = page.locator('#stages li[data-stage="STAGE_SIMILARITY_ANALYSIS"]')
    await expect(similarity).to_have_attribute("data-state", "STAGE_STATE_RUNNING", timeout=10_000)
    proxy.cut()
    await expect(page.locator("#report")).to_be_visible(timeout=30_000)
    assert reconnects, "the browser did not reconnect with Last-Event-ID"
    assert int(reconnects[0]) > 0
    # Events are not applied twice: every stage ran once.
    await expect(page.locator('#stages li[data-retries="0"]')).to_have_count(6)
    assert opened.errors == []
    await opened.context.close()


@pytest.mark.parametrize("width", ["desktop", "phone"])
async def test_several_analyses_at_once_and_the_job_list(pages: OpenPage, base_url: str, width: str) -> None:
    opened = await pages("/", width)
    page = opened.page
    first = await submit_analysis(page)
    await page.click("text=New analysis >> nth=0")
    await expect(page.locator("#new-view")).to_be_visible()
    # The form kept its texts: change the job description and start a second analysis while the first runs.
    second = await submit_analysis(page, RESUME, "Python and SQL for reporting.")
    assert second != first
    items = page.locator("#history-list li[data-job-id]")
    await expect(items).to_have_count(2, timeout=10_000)
    await expect(page.locator(f'#history-list li[data-job-id="{first}"]')).to_contain_text("match 50%", timeout=20_000)
    await expect(page.locator(f'#history-list li[data-job-id="{second}"]')).to_contain_text(
        "match 100%", timeout=20_000
    )
    await expect(page.locator(f'#history-list li[data-job-id="{second}"] a')).to_have_attribute("aria-current", "page")
    await expect(items.first).to_contain_text("just now")
    await expect(items.first).to_contain_text("succeeded")
    # From the list back to the first job: its own report.
    await page.click(f'#history-list li[data-job-id="{first}"] a')
    await expect(page).to_have_url(f"{base_url}/jobs/{first}")
    await expect(page.locator("#score")).to_have_text("50%", timeout=10_000)
    await page.go_back()
    await expect(page.locator("#job-id")).to_have_text(second)
    await expect(page.locator("#score")).to_have_text("100%", timeout=10_000)
    assert await horizontal_overflow(page) == 0
    await screenshot(page, f"web-page-two-jobs-{width}.png")
    assert opened.errors == []
