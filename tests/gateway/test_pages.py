"""The page routes and assets of gateway/pages.py, through the ASGI transport: the same page at / and /jobs/{id}
with its security headers, the browser client and the page's modules, offline docs, none of it in the OpenAPI."""

from __future__ import annotations

import httpx


async def test_the_page_is_served_at_root_and_at_a_job_address(http: httpx.AsyncClient) -> None:
    root = await http.get("/")
    job = await http.get("/jobs/01a2274c6cec00000288c8")
    assert root.status_code == job.status_code == 200
    assert root.text == job.text and '<script type="module" src="/static/app/js/main.js">' in root.text
    policy = job.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert job.headers["cache-control"] == "no-cache"


async def test_assets_are_served(http: httpx.AsyncClient) -> None:
    client = await http.get("/static/job-api.js")
    assert client.status_code == 200 and "export async function pollJobStatus" in client.text
    assert client.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    for path in ("/static/app/js/main.js", "/static/app/app.css", "/static/app/favicon.svg"):
        assert (await http.get(path)).status_code == 200, path
    assert (await http.get("/static/app/js/no-such-module.js")).status_code == 404


async def test_docs_are_offline_and_pages_stay_out_of_the_api(http: httpx.AsyncClient) -> None:
    docs = await http.get("/docs")
    redoc = await http.get("/redoc")
    assert "/static/docs/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text
    assert "/static/docs/redoc.standalone.js" in redoc.text and "fonts.googleapis" not in redoc.text
    assert "img-src 'self' data:" in redoc.headers["content-security-policy"]
    paths = (await http.get("/openapi.json")).json()["paths"]
    assert "/jobs/{job_id}" not in paths and "/" not in paths and "/docs" not in paths
