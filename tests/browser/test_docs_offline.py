"""/docs (Swagger UI) and /redoc render from the gateway's own copies of their assets: in Chromium with every
request to another host refused, both show the API, and neither page names another host."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Route, expect

from tests.browser.page_support import OpenPage


async def refuse_other_hosts(route: Route, refused: list[str]) -> None:
    if urlsplit(route.request.url).hostname == "127.0.0.1":
        await route.continue_()
    else:
        refused.append(route.request.url)
        await route.abort()


async def test_swagger_ui_works_offline(pages: OpenPage) -> None:
    opened = await pages("/healthz")
    page = opened.page
    refused: list[str] = []
    await page.route("**/*", lambda route: refuse_other_hosts(route, refused))
    await page.goto(page.url.replace("/healthz", "/docs"))
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("SkillBridge gateway", timeout=15_000)
    await expect(page.locator(".opblock-summary-path", has_text=re.compile(r"^/v1/jobs$")).first).to_be_visible()
    assert refused == []
    assert opened.errors == []


async def test_redoc_works_offline(pages: OpenPage) -> None:
    opened = await pages("/healthz")
    page = opened.page
    refused: list[str] = []
    await page.route("**/*", lambda route: refuse_other_hosts(route, refused))
    await page.goto(page.url.replace("/healthz", "/redoc"))
    await expect(page.locator("h1", has_text="SkillBridge gateway")).to_be_visible(timeout=15_000)
    await expect(page.get_by_text("/v1/jobs/{job_id}/events").first).to_be_attached()
    # Search runs (in a worker the page's policy allows).
    await page.get_by_placeholder("Search...").fill("cancel")
    await expect(page.locator('[role="search"] li, [data-role="search:results"] li').first).to_be_visible()
    assert refused == []
    assert opened.errors == []


async def test_docs_pages_name_no_other_host(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        for path in ("/docs", "/redoc"):
            html = (await http.get(path)).text
            assert not re.search(r"https?://", html), f"{path} loads something from another host"
            for asset in re.findall(r'(?:src|href)="(/static/docs/[^"]+)"', html):
                answer = await http.get(asset)
                assert answer.status_code == 200 and len(answer.content) > 1000, asset
        assert (await http.get("/docs/oauth2-redirect")).status_code == 200
