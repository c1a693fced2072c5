"""POST /v1/extract-text: the plain text of an uploaded resume or job description, safe against hostile files.

- Authenticated like every other route, by the gateway itself (the route never calls the scheduler): the
  scheduler's key ring parses `Authorization: Bearer <key>` and compares keys in constant time.
- The body is read as it arrives and refused with 413 the moment it passes the limit (gateway.upload_body).
- The file is read in a worker process under memory and time limits (gateway.extract_pool), after the checks
  of skillbridge_client.documents: whatever the file holds, the answer is its text or a 4xx saying it could not be read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel
from skillbridge_client.documents import SUPPORTED, ExtractError, extract_text, suffix_of
from starlette.exceptions import HTTPException

from gateway.extract_pool import ExtractorBusy, ExtractorPool
from gateway.settings import GatewaySettings
from gateway.upload_body import UploadRefused, read_upload
from services.common import errors
from services.scheduler.auth import KeyRing

# The request body as OpenAPI should describe it: the route reads the stream itself, so FastAPI cannot infer it.
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary", "description": ", ".join(SUPPORTED)}},
                }
            }
        },
    }
}
ERROR_ANSWERS: dict[int | str, dict[str, Any]] = {
    400: {"description": "not a multipart upload, or the file could not be read"},
    401: {"description": "no valid API key"},
    413: {"description": "the file is larger than the limit"},
    415: {"description": "not a .txt, .pdf or .docx file"},
    503: {"description": "every file reader is busy; retry after Retry-After seconds"},
}


class ExtractedText(BaseModel):
    """The text of an uploaded file."""

    filename: str | None
    text: str
    characters: int


def build_upload_router(
    settings: GatewaySettings, *, max_upload_bytes: int, responses: dict[int | str, dict[str, Any]] | None = None
) -> APIRouter:
    """The router of POST /v1/extract-text. Its lifespan stops the extraction workers when the app stops.
    `responses` documents the error answers in OpenAPI (by default, their descriptions)."""
    keys = KeyRing.from_settings(settings)
    pool = ExtractorPool(
        workers=settings.extract_workers,
        timeout=settings.extract_timeout_seconds,
        memory_mb=settings.extract_memory_mb,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await pool.close()

    router = APIRouter(prefix="/v1", tags=["v1"], lifespan=lifespan)

    @router.post("/extract-text", openapi_extra=UPLOAD_BODY, responses=responses or ERROR_ANSWERS)
    async def extract(request: Request) -> ExtractedText:
        """The plain text of an uploaded resume or job description (multipart form field `file`)."""
        try:
            keys.principal(request.headers.get("authorization"))
        except errors.Unauthenticated as exc:
            raise HTTPException(401, exc.message, headers={"WWW-Authenticate": "Bearer"}) from None
        try:
            upload = await read_upload(request, limit=max_upload_bytes)
        except UploadRefused as exc:
            raise HTTPException(exc.status, exc.detail) from None
        try:
            text = await _read(pool, upload.filename, upload.data)
        except ExtractError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        except ExtractorBusy as exc:
            retry = max(1, round(pool.timeout))
            raise HTTPException(503, str(exc), headers={"Retry-After": str(retry)}) from None
        return ExtractedText(filename=upload.filename, text=text, characters=len(text))

    return router


async def _read(pool: ExtractorPool, filename: str, data: bytes) -> str:
    """Plain text is decoded here (nothing to parse); an unsupported type is refused without a worker;
    PDF and .docx go to a worker process."""
    if suffix_of(filename) in (".pdf", ".docx"):
        return await pool.extract(filename, data)
    return extract_text(filename, data)
