"""The one table from SDK errors to HTTP answers: status code, a `detail` in words, field violations and
Retry-After where they apply."""

from __future__ import annotations

import math

from fastapi import Request
from fastapi.responses import JSONResponse
from skillbridge_client import errors

HTTP_STATUS: list[tuple[type[errors.SkillBridgeError], int]] = [
    (errors.InvalidRequest, 400),
    (errors.Unauthenticated, 401),
    (errors.PermissionDenied, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.QuotaExceeded, 429),
    (errors.Unavailable, 503),
    (errors.DeadlineExceeded, 504),
]


def http_status(exc: errors.SkillBridgeError) -> int:
    for cls, status in HTTP_STATUS:
        if isinstance(exc, cls):
            return status
    return 502  # the scheduler answered with an error the gateway has no better word for


def error_response(exc: errors.SkillBridgeError) -> JSONResponse:
    """The JSON error body: {"detail", "code", "field_violations"}; 429 also carries Retry-After (seconds)."""
    body: dict[str, object] = {"detail": exc.message, "code": exc.code}
    if exc.field_violations:
        body["field_violations"] = [{"field": v.field, "description": v.description} for v in exc.field_violations]
    headers: dict[str, str] = {}
    if exc.retry_after is not None:
        body["retry_after_seconds"] = exc.retry_after
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=http_status(exc), headers=headers)


async def handle_sdk_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.SkillBridgeError)
    return error_response(exc)
