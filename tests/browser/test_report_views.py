"""The report and the live views around it: the explained match list and the catalog gaps, a job waiting for a
stage service, the queue view, the JSON download and the print view.

The scheduler of this tree fills neither `job_skill_matches`, `uncovered_skills`, `waiting_for_service` nor
`stage_services`: where a test needs them, it adds them to the gateway's real answer on its way to the page (the
rest of the answer is untouched), so what is checked is how the page renders them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, Route, expect
from skillbridge.scheduler.v1 import job_pb2
from skillbridge_client import AsyncSchedulerClient

from tests.browser.page_support import ARTIFACTS, OpenPage, horizontal_overflow, screenshot, submit_analysis
from tests.scheduler.stage_doubles import Behavior
from tests.sdk.harness import JOB_DESCRIPTION, RESUME, Stack

EXPLAINED = [
    {
        "job_skill": "Python",
        "resume_skill": "Python",
        "score": 1.0,
        "kind": "MATCH_KIND_EXACT",
        "evidence": "Data engineer with Python",
        "required": True,
    },
    {
        "job_skill": "Kubernetes",
        "resume_skill": "Docker",
        "score": 0.62,
        "kind": "MATCH_KIND_SEMANTIC",
        "evidence": "Docker",
        "required": True,
    },
    {"job_skill": "SQL", "resume_skill": "SQL", "score": 1.0, "kind": "MATCH_KIND_ALIAS", "required": False},
    {"job_skill": "Kafka", "resume_skill": "", "score": 0.21, "kind": "MATCH_KIND_MISSING", "required": False},
    {
        "job_skill": "Call Monitoring",
        "resume_skill": "Call Monitoring",  # found in the resume's own sentences
        "score": 0.63,
        "kind": "MATCH_KIND_SEMANTIC",
        "evidence": "listened to calls and filled in the QA scorecards",
        "required": False,
    },
]


async def add_to_job(page: Page, job_id: str, extra: dict[str, Any], result_extra: dict[str, Any]) -> None:
    """Adds fields to the gateway's real answers for GET /v1/jobs/{job_id} on their way to the page."""

    async def amend(route: Route) -> None:
        response = await route.fetch()
        job = await response.json()
        job.update(extra)
        if "course_recommendation_result" in job:
            job["course_recommendation_result"].update(result_extra)
            job["course_recommendation_result"]["matching_details"].update(result_extra.get("matching_details", {}))
        await route.fulfill(response=response, json=job)

    await page.route(f"**/v1/jobs/{job_id}", amend)


async def finished_job(stack: Stack) -> str:
    async with AsyncSchedulerClient(stack.address) as client:
        job = await client.submit_analysis(RESUME, JOB_DESCRIPTION)
        async for _ in client.watch(job.id):
            pass
        assert (await client.get(job.id)).state == job_pb2.JOB_STATE_SUCCEEDED
    return job.id


@pytest.mark.parametrize("width", ["desktop", "phone"])
async def test_explained_matches_and_uncovered_skills(pages: OpenPage, base_url: str, stack: Stack, width: str) -> None:
    job_id = await finished_job(stack)
    opened = await pages("/", width)
    page = opened.page
    await add_to_job(
        page,
        job_id,
        {},
        {"uncovered_skills": ["Kafka"], "matching_details": {"job_skill_matches": EXPLAINED}},
    )
    await page.goto(f"{base_url}/jobs/{job_id}")
    await expect(page.locator("#explained")).to_be_visible(timeout=10_000)
    required = page.locator("#matches-required li")
    await expect(required).to_have_count(2)
    await expect(required.nth(0)).to_contain_text("exact match")
    await expect(required.nth(0).locator("q")).to_have_text("Data engineer with Python")
    await expect(required.nth(1)).to_contain_text("via Docker, 0.62")
    await expect(required.nth(1)).to_have_attribute("data-kind", "MATCH_KIND_SEMANTIC")
    nice = page.locator("#matches-nice li")
    await expect(nice).to_have_count(3)
    await expect(nice.nth(0)).to_contain_text("via SQL, 1.00")
    await expect(nice.nth(1)).to_contain_text("missing")
    await expect(nice.nth(1)).to_contain_text("not in the resume")
    await expect(nice.nth(2)).to_contain_text("via the resume's words, 0.63")
    await expect(nice.nth(2).locator("q")).to_have_text("listened to calls and filled in the QA scorecards")
    await expect(nice.nth(0).locator(".badge")).to_have_text("alias")
    await expect(page.locator("#uncovered")).to_have_text("No course in the catalog teaches Kafka.")
    assert await horizontal_overflow(page) == 0
    await screenshot(page, f"web-page-explained-{width}.png")
    assert opened.errors == []


async def test_without_explanations_the_report_keeps_the_skill_lists(
    pages: OpenPage, base_url: str, stack: Stack
) -> None:
    stack.doubles.explain_matches = False  # a similarity service that does not say how each skill matched
    job_id = await finished_job(stack)
    page = (await pages(f"/jobs/{job_id}")).page
    await expect(page.locator("#report")).to_be_visible(timeout=10_000)
    await expect(page.locator("#explained")).to_be_hidden()
    await expect(page.locator("#uncovered")).to_be_hidden()
    await expect(page.locator("#matched li")).to_have_count(2)
    await expect(page.locator("#missing li")).to_have_count(2)


@pytest.mark.parametrize("width", ["desktop", "phone"])
async def test_a_job_waiting_for_a_stage_service_says_so(
    pages: OpenPage, base_url: str, stack: Stack, width: str
) -> None:
    stack.doubles.behaviors["CompareSkills"] = Behavior(hang=True)
    async with AsyncSchedulerClient(stack.address) as client:
        job = await client.submit_analysis(RESUME, JOB_DESCRIPTION)
    opened = await pages("/", width)
    page = opened.page
    await add_to_job(page, job.id, {"waiting_for_service": "similarity"}, {})
    await page.route("**/events*", lambda route: route.abort())  # the page polls the (amended) snapshot

    async def amend_queue(route: Route) -> None:
        response = await route.fetch()
        status = await response.json()
        status["stage_services"] = [
            {"service": "ner", "stages": ["STAGE_ENTITY_RECOGNITION"], "state": "STAGE_SERVICE_STATE_SERVING"},
            {
                "service": "similarity",
                "stages": ["STAGE_SIMILARITY_ANALYSIS"],
                "state": "STAGE_SERVICE_STATE_UNAVAILABLE",
                "since": "2026-11-29T12:00:00Z",
                "reason": "UNAVAILABLE: connection refused",
                "waiting_jobs": 1,
            },
        ]
        await route.fulfill(response=response, json=status)

    await page.route("**/v1/queue", amend_queue)
    await page.goto(f"{base_url}/jobs/{job.id}")
    await expect(page.locator("#service-wait")).to_be_visible(timeout=10_000)
    await expect(page.locator("#service-wait")).to_contain_text("Waiting for the similarity service")
    await expect(page.locator('#queue-services li[data-service="similarity"]')).to_contain_text("unavailable")
    await expect(page.locator('#queue-services li[data-service="similarity"]')).to_contain_text("1 job waiting")
    await expect(page.locator("#queue-waiting")).to_contain_text("the similarity service")
    await expect(page.locator("#error")).to_be_hidden()  # a refused stream alone is no error to show
    assert await horizontal_overflow(page) == 0
    await screenshot(page, f"web-page-service-wait-{width}.png")
    assert opened.errors == []


async def test_stream_events_of_a_service_wait_update_the_job(pages: OpenPage, base_url: str) -> None:
    """The events service_waiting and service_recovered as the stream sends them, applied by the page's model."""
    page = (await pages()).page
    said = await page.evaluate(
        """async () => {
            const m = await import("/static/app/js/job-model.js");
            const t = m.track("j1");
            const out = [];
            out.push(m.apply(t, "service_waiting", {sequence: 5, time: "2026-11-29T12:00:00Z", service_waiting: {
                stage: "STAGE_SIMILARITY_ANALYSIS", service: "similarity", reason: "UNAVAILABLE", budget: "30s"}}));
            out.push(t.job.waiting_for_service);
            out.push(m.apply(t, "service_waiting", {sequence: 5, time: "2026-11-29T12:00:00Z", service_waiting: {
                stage: "STAGE_SIMILARITY_ANALYSIS", service: "similarity", reason: "again", budget: "30s"}}));
            out.push(m.apply(t, "service_recovered", {sequence: 6, time: "2026-11-29T12:00:04Z", service_recovered: {
                stage: "STAGE_SIMILARITY_ANALYSIS", service: "similarity", waited: "4.250s"}}));
            out.push(t.job.waiting_for_service, t.waits.length, t.waits[0].waited, t.waits[0].budget);
            return out;
        }"""
    )
    assert said == [
        "Waiting for the similarity service, which cannot be reached.",
        "similarity",
        None,  # the same event again (a replay) is ignored
        "The similarity service is back; the job goes on.",
        "",
        1,
        4.25,
        30,
    ]


async def test_queue_view_shows_depth_running_and_stage_timings(pages: OpenPage, base_url: str, stack: Stack) -> None:
    await finished_job(stack)
    stack.doubles.behaviors["CompareSkills"] = Behavior(hang=True)
    async with AsyncSchedulerClient(stack.address) as client:
        await client.submit_analysis(RESUME, JOB_DESCRIPTION)
    page = (await pages()).page
    await expect(page.locator('#queue-figures dd[data-figure="running"]')).to_have_text("1", timeout=10_000)
    await expect(page.locator('#queue-figures dd[data-figure="workers"]')).to_have_text("2")
    await expect(page.locator('#queue-figures dd[data-figure="queued"]')).to_have_text("0 of 10000")
    await expect(page.locator('#queue-figures dd[data-figure="throughput"]')).to_contain_text("jobs/min")
    await expect(page.locator("#queue-health")).to_have_text("The scheduler is running.")
    row = page.locator('#queue-timings-body tr[data-stage="STAGE_SKILL_EXTRACTION"]')
    await expect(row).to_contain_text(re.compile(r"(0\.[3-9]\d|[1-9][\d.]*) s"))  # at least the double's 0.3 s
    await expect(row.locator("td").nth(2)).to_have_text("2")  # both jobs ran it


async def test_download_json_and_print_view(pages: OpenPage, base_url: str, tmp_path: Path) -> None:
    opened = await pages(accept_downloads=True)
    page = opened.page
    job_id = await submit_analysis(page)
    await expect(page.locator("#report")).to_be_visible(timeout=20_000)
    async with page.expect_download() as download_info:
        await page.click("#download")
    download = await download_info.value
    assert download.suggested_filename == f"skillbridge-{job_id}.json"
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    job = json.loads(saved.read_text())
    assert job["id"] == job_id and job["state"] == "JOB_STATE_SUCCEEDED"
    assert job["course_recommendation_result"]["skill_gap"] == ["Kubernetes", "Kafka"]
    # Print: the report and the timeline only, course addresses written out.
    await page.emulate_media(media="print")
    await expect(page.locator("aside")).to_be_hidden()
    await expect(page.locator(".toolbar")).to_be_hidden()
    await expect(page.locator("header.top")).to_be_hidden()
    await expect(page.locator("#report")).to_be_visible()
    await expect(page.locator("#stages")).to_be_visible()
    await expect(page.locator(".course-url").first).to_have_text("https://courses.example.org/learn-kubernetes")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.pdf(path=str(ARTIFACTS / "web-page-report.pdf"))
    assert opened.errors == []
