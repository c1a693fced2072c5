"""The web page, its static assets and the API docs, all served by the gateway itself so they work offline.

`/` and `/jobs/{id}` serve the same single page (it routes in the browser, so a job's address survives a reload and
a job id from the CLI can be opened directly). `/static/job-api.js` is the browser client (clients/web),
`/static/app/` the page's own modules and styles. `/docs` (Swagger UI) and `/redoc` load their scripts from
`/static/docs/`, the copies shipped in the pinned `fastapi-offline` package, instead of a CDN."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.convertors import CONVERTOR_TYPES, StringConvertor, register_url_convertor
from starlette.routing import BaseRoute

from services.common.process_settings import REPO_ROOT

PAGE_DIR = Path(__file__).resolve().parent / "static"
WEB_CLIENT_DIR = REPO_ROOT / "clients" / "web"
DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
DOCS_ASSETS = "/static/docs"

# The page runs only its own files: no inline script, no other origin. Styles set from scripts go through the
# CSSOM, which style-src does not restrict.
PAGE_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# ReDoc fetches its "powered by" logo from its vendor's CDN whatever its options say: images from other hosts are
# refused here, so the page makes no request off the gateway (the logo hides itself when it does not load).
REDOC_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class PageJobIdConvertor(StringConvertor):
    """A job id in a page address. `/jobs/submit` is the original contract's POST route: a GET there is a 405,
    not the page showing a job called "submit"."""

    regex = "(?!submit$)[^/:]+"


PAGE_JOB_ID = "page_job_id"


def docs_assets_dir() -> Path:
    """The directory of Swagger UI's and ReDoc's scripts and styles inside the fastapi-offline package."""
    return Path(str(files("fastapi_offline") / "static"))


def add_pages(app: FastAPI) -> None:
    """Adds the page routes, the static mounts and the offline docs to `app`. FastAPI's own /docs and /redoc,
    which load their assets from a CDN, are replaced."""
    replaced = {path for path in (DOCS_PATH, REDOC_PATH, app.swagger_ui_oauth2_redirect_url) if path}
    app.router.routes[:] = [route for route in app.router.routes if _path(route) not in replaced]
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect = app.swagger_ui_oauth2_redirect_url or f"{DOCS_PATH}/oauth2-redirect"
    title = app.title

    if PAGE_JOB_ID not in CONVERTOR_TYPES:
        register_url_convertor(PAGE_JOB_ID, PageJobIdConvertor())

    async def page() -> FileResponse:
        return FileResponse(PAGE_DIR / "index.html", media_type="text/html", headers=PAGE_HEADERS)

    app.add_api_route("/", page, methods=["GET"], include_in_schema=False)
    app.add_api_route(f"/jobs/{{job_id:{PAGE_JOB_ID}}}", page, methods=["GET"], include_in_schema=False)

    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            oauth2_redirect_url=oauth2_redirect,
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )

    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc() -> HTMLResponse:
        response = get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )
        response.headers["Content-Security-Policy"] = REDOC_SECURITY_POLICY
        return response

    app.add_api_route(DOCS_PATH, swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route(oauth2_redirect, swagger_ui_redirect, methods=["GET"], include_in_schema=False)
    app.add_api_route(REDOC_PATH, redoc, methods=["GET"], include_in_schema=False)

    # Mounts match by prefix in order: the narrower ones first.
    app.mount(DOCS_ASSETS, StaticFiles(directory=docs_assets_dir()), name="docs-assets")
    app.mount("/static/app", StaticFiles(directory=PAGE_DIR), name="page")
    app.mount("/static", StaticFiles(directory=WEB_CLIENT_DIR), name="static")


def _path(route: BaseRoute) -> str | None:
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None
