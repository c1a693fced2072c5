"""POST /v1/extract-text: the plain text of an uploaded resume or job description."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from skillbridge_client.documents import ExtractError, extract_text

from gateway.errors import ApiError, error_responses


class ExtractedText(BaseModel):
    """The text of an uploaded file."""

    filename: str | None
    text: str
    characters: int


def build_extract_router() -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["v1"])

    @router.post("/extract-text", responses=error_responses(400, 413, 415))
    async def extract(
        request: Request, file: Annotated[UploadFile, File(description=".txt, .pdf or .docx")]
    ) -> ExtractedText:
        """The plain text of an uploaded resume or job description."""
        limit: int = request.app.state.max_upload_bytes
        data = await file.read(limit + 1)
        if len(data) > limit:
            raise ApiError(413, f"file larger than {limit // 1024} KiB")
        try:
            text = await run_in_threadpool(extract_text, file.filename or "", data)
        except ExtractError as exc:
            raise ApiError(exc.status, str(exc)) from None
        return ExtractedText(filename=file.filename, text=text, characters=len(text))

    return router
