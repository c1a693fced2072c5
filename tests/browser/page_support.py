"""Helpers of the browser tests: pages at a given width, the analysis form, layout overflow and the axe-core scan."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.sdk.harness import JOB_DESCRIPTION, RESUME

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
# axe-core 4.14.1 from the npm package, vendored so the scan runs offline (see vendor/README.md).
AXE_SOURCE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
# The page at a desktop width and at a phone's (iPhone 12-15: 390 CSS px).
JOB_URL = re.compile(r".*/jobs/[^/?#]+$")
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@dataclass
class Opened:
    """A page in its own browser context, with the script errors it raised and the errors its console showed."""

    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)  # refused by the page's policy, failed loads, ...


class OpenPage(Protocol):
    """pages(path, width, **context_options): a new browser context at that width with base_url + path loaded."""

    def __call__(
        self, path: str = "/", width: str | dict[str, int] = "desktop", **options: Any
    ) -> Awaitable[Opened]: ...


async def open_page(browser: Browser, url: str, width: str | dict[str, int] = "desktop", **options: Any) -> Opened:
    """A new context at `width` ("desktop" or "phone", or {"width", "height"}), `url` loaded."""
    viewport = WIDTHS[width] if isinstance(width, str) else width
    context = await browser.new_context(viewport=viewport, **options)
    page = await context.new_page()
    opened = Opened(context, page)
    page.on("pageerror", lambda exc: opened.errors.append(str(exc)))
    page.on("console", lambda message: opened.console_errors.append(message.text) if message.type == "error" else None)
    await page.goto(url)
    return opened


async def submit_analysis(page: Page, resume: str = RESUME, job: str = JOB_DESCRIPTION) -> str:
    """Fills the form, submits it and waits for the job's own address; returns the job id."""
    await page.fill("#resume", resume)
    await page.fill("#job", job)
    await page.click("#submit")
    await expect(page).to_have_url(JOB_URL, timeout=10_000)
    job_id = page.url.rsplit("/jobs/", 1)[1]
    await expect(page.locator("#job-id")).to_have_text(job_id)
    return job_id


async def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the viewport (0 when nothing is cut off)."""
    value = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    return int(value)


async def serious_axe_violations(page: Page) -> list[dict[str, Any]]:
    """Runs axe-core on the page; returns its serious and critical violations (id, impact, help, targets)."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.add_script_tag(content=AXE_SOURCE.read_text(encoding="utf-8"))
    results = await page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ["violations"]});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}));
        }"""
    )
    return [v for v in results if v["impact"] in ("serious", "critical")]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    return json.dumps(violations, indent=2)


async def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / name), full_page=True)


class CuttableProxy:
    """A TCP proxy in front of the gateway whose open connections a test can cut, as a flaky network would: the
    browser sees its event stream drop and reconnects on its own."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def __aenter__(self) -> CuttableProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cut()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def cut(self) -> None:
        """Closes every connection open now; new ones are accepted as before."""
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        self._writers.update((client_writer, upstream_writer))
        await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))
        self._writers.discard(client_writer)
        self._writers.discard(upstream_writer)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.transport.abort()
