"""Accessibility of the page: an axe-core scan (vendored, pinned) finds no serious or critical violation at both
widths in light and dark mode; every control has a label; progress is announced through a live region; the whole
flow works from the keyboard; dark mode follows the system; nothing is cut off down to 360 px."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.page_support import (
    OpenPage,
    describe_violations,
    horizontal_overflow,
    screenshot,
    serious_axe_violations,
    submit_analysis,
)
from tests.sdk.harness import JOB_DESCRIPTION, RESUME


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
async def test_axe_finds_no_serious_violation(pages: OpenPage, width: str, scheme: str) -> None:
    # axe is injected as an inline script, which the page's Content-Security-Policy would refuse.
    page = (await pages("/", width, color_scheme=scheme, bypass_csp=True)).page
    await expect(page.locator("#queue-figures dd").first).to_be_visible(timeout=10_000)
    violations = await serious_axe_violations(page)
    assert violations == [], describe_violations(violations)
    await submit_analysis(page)
    await expect(page.locator("#report")).to_be_visible(timeout=20_000)
    await page.click("#events-summary")  # the event log open too
    violations = await serious_axe_violations(page)
    assert violations == [], describe_violations(violations)
    await screenshot(page, f"web-page-{width}-{scheme}.png")


async def test_every_control_is_labelled(pages: OpenPage) -> None:
    page = (await pages()).page
    await expect(page.get_by_label("Resume", exact=True)).to_have_attribute("id", "resume")
    await expect(page.get_by_label("Job description", exact=True)).to_have_attribute("id", "job")
    await expect(page.get_by_label("Or read the resume from a file (.txt, .pdf, .docx)")).to_have_attribute(
        "type", "file"
    )
    await expect(page.get_by_label("Or read the job description from a file (.txt, .pdf, .docx)")).to_have_attribute(
        "type", "file"
    )
    await expect(page.get_by_label("Match threshold")).to_have_attribute("type", "number")
    await expect(page.get_by_label("Open a job by its id")).to_have_attribute("id", "open-id")
    await submit_analysis(page)
    await expect(page.get_by_role("progressbar", name="Overall progress")).to_be_visible()
    # Progress is told to screen readers through a polite live region, stage by stage.
    announcer = page.locator("#announcer")
    await expect(announcer).to_have_attribute("aria-live", "polite")
    await expect(announcer).to_have_text(re.compile(r"(started|succeeded|done)"), timeout=10_000)
    await expect(announcer).to_have_text("The analysis is complete. The report follows.", timeout=20_000)


async def _tab_to(page: Page, element_id: str, limit: int = 40) -> None:
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} cannot be reached with Tab")


async def test_the_whole_flow_works_from_the_keyboard(pages: OpenPage) -> None:
    page = (await pages(accept_downloads=True)).page
    await page.keyboard.press("Tab")
    assert await page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    await _tab_to(page, "resume")
    await page.keyboard.type(RESUME)
    await _tab_to(page, "job")
    await page.keyboard.type(JOB_DESCRIPTION)
    await _tab_to(page, "submit")
    await page.keyboard.press("Enter")
    await expect(page.locator("#job-view")).to_be_visible(timeout=10_000)
    # The view that opened has the focus, so a screen reader starts there.
    assert await page.evaluate("() => document.activeElement.id") == "job-title"
    await expect(page.locator("#report")).to_be_visible(timeout=20_000)
    await _tab_to(page, "download")
    async with page.expect_download() as download:
        await page.keyboard.press("Enter")
    assert (await download.value).suggested_filename.endswith(".json")
    # The job list is reachable too: its links open a job, and "New analysis" goes back to the form.
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Shift+Tab")
    for _ in range(40):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement.closest('#history-list') !== null"):
            break
    else:
        raise AssertionError("no job in the list can be reached with Tab")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"/jobs/"))
    await page.keyboard.press("Shift+Tab")
    focused = await page.evaluate("() => document.activeElement.outerHTML")
    assert focused  # the focus stays in the page after a keyboard navigation


@pytest.mark.parametrize(("scheme", "dark"), [("light", False), ("dark", True)])
async def test_colours_follow_the_system_preference(pages: OpenPage, scheme: str, dark: bool) -> None:
    page = (await pages("/", color_scheme=scheme)).page
    background = await page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    text = await page.evaluate("() => getComputedStyle(document.body).color")

    def brightness(css: str) -> float:
        red, green, blue = (int(v) for v in re.findall(r"\d+", css)[:3])
        return (red + green + blue) / 3

    assert (brightness(background) < 60) is dark, background
    assert (brightness(text) > 180) is dark, text


async def test_nothing_is_cut_off_at_360_px(pages: OpenPage) -> None:
    opened = await pages("/", {"width": 360, "height": 740})
    page = opened.page
    assert await horizontal_overflow(page) == 0
    await submit_analysis(page, RESUME, JOB_DESCRIPTION + " " + "Kubernetes-operator-development-" * 4)
    await expect(page.locator("#report")).to_be_visible(timeout=20_000)
    await expect(page.locator("#queue-timings-body tr").first).to_be_visible()
    assert await horizontal_overflow(page) == 0
    await screenshot(page, "web-page-report-360.png")
