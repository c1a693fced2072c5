"""The gateway's one error shape, and the one table from errors to HTTP answers.

Every error the gateway answers, on every route and status (request validation, an unknown route, an SDK error,
an unexpected failure), is an `ErrorBody`: a `detail` in words (the original browser client shows it), a
machine-readable `code`, the `field_violations` and, for 429 and 503, `retry_after_seconds` with a Retry-After
header. Messages never echo unbounded input: the gateway's own messages name fields, never values; what the scheduler
says is cut to MAX_DETAIL_CHARS; violations past MAX_VIOLATIONS are counted, not listed."""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from skillbridge_client import errors
from starlette.exceptions import HTTPException

MAX_DETAIL_CHARS = 1000
MAX_VIOLATIONS = 20

# The codes are google.rpc.Code names where one fits (the same words gRPC callers see), and HTTP names where
# the failure only exists in HTTP.
CODE_BY_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "FAILED_PRECONDITION",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "BAD_GATEWAY",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

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


class FieldViolationBody(BaseModel):
    """One invalid field of a request."""

    field: str = Field(description="The field, as a dotted path: `course_recommendation.threshold`, `job_id`.")
    description: str = Field(description="What is wrong with it.")


class ErrorBody(BaseModel):
    """Every error answer of the gateway."""

    detail: str = Field(description="What went wrong, in words.")
    code: str = Field(
        description="Machine-readable: a google.rpc.Code name (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, "
        "RESOURCE_EXHAUSTED, UNAUTHENTICATED, PERMISSION_DENIED, UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL) or an "
        "HTTP one (METHOD_NOT_ALLOWED, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, BAD_GATEWAY)."
    )
    field_violations: list[FieldViolationBody] = Field(description="The invalid fields, if the request had any.")
    retry_after_seconds: float | None = Field(description="When to try again (429, 503), else null.")
    reason: str | None = Field(
        default=None,
        description="Why, where the scheduler said (its google.rpc.ErrorInfo reason): for 429 one of QUEUE_FULL (the "
        "shared queue), RATE_LIMITED (the caller's submits per second), QUOTA_EXCEEDED (the caller's queued jobs).",
    )


class ApiError(Exception):
    """An error the gateway itself answers with (the SDK's errors are mapped by `sdk_error`)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        violations: Sequence[tuple[str, str]] = (),
        retry_after: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or CODE_BY_STATUS.get(status, "UNKNOWN")
        self.violations = tuple(violations)
        self.retry_after = retry_after
        self.headers = headers or {}


def invalid(field: str, description: str) -> ApiError:
    """A 400 naming one field."""
    return ApiError(400, f"{field}: {description}", violations=[(field, description)])


def _bounded(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def error_response(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    violations: Iterable[tuple[str, str]] = (),
    retry_after: float | None = None,
    headers: dict[str, str] | None = None,
    reason: str | None = None,
) -> JSONResponse:
    """The error answer; lists of violations past MAX_VIOLATIONS are counted, not repeated."""
    pairs = list(violations)
    shown = [{"field": _bounded(f, 200), "description": _bounded(d, 300)} for f, d in pairs[:MAX_VIOLATIONS]]
    if len(pairs) > MAX_VIOLATIONS:
        shown.append({"field": "(more)", "description": f"{len(pairs) - MAX_VIOLATIONS} more fields are invalid"})
    body = ErrorBody.model_validate(
        {
            "detail": _bounded(detail) or CODE_BY_STATUS.get(status, "error"),
            "code": code or CODE_BY_STATUS.get(status, "UNKNOWN"),
            "field_violations": shown,
            "retry_after_seconds": retry_after,
            "reason": reason,
        }
    )
    out_headers = dict(headers or {})
    if retry_after is not None:
        out_headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    if status == 401:
        out_headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(body.model_dump(), status_code=status, headers=out_headers)


def error_body(exc: BaseException) -> dict[str, Any]:
    """The error shape of `exc` as a dict, for errors that can only be told inside a stream."""
    response = sdk_error(exc) if isinstance(exc, errors.SkillBridgeError) else error_response(500, "internal error")
    body: dict[str, Any] = json.loads(bytes(response.body))
    return body


def sdk_error(exc: errors.SkillBridgeError) -> JSONResponse:
    """The answer for an error of the scheduler, as the SDK raised it."""
    if isinstance(exc, errors.QuotaExceeded) and exc.retry_after is None:
        # The scheduler's quota and queue-full errors always carry RetryInfo. Without it, RESOURCE_EXHAUSTED
        # comes from gRPC's own size limits, hit by something too large in the request (or in the error it
        # earned): retrying cannot help, so it must not read as 429.
        message = f"the request is too large to process (retrying will not help): {exc.message}"
        return error_response(400, message, code="INVALID_ARGUMENT")
    status = next((s for cls, s in HTTP_STATUS if isinstance(exc, cls)), 502)
    code = exc.code
    retry_after = exc.retry_after
    if status == 503 and retry_after is None:
        retry_after = 1.0  # a restarting scheduler is back within seconds
    violations = [(v.field, v.description) for v in exc.field_violations]
    return error_response(
        status, exc.message or exc.code, code=code, violations=violations, retry_after=retry_after, reason=exc.reason
    )


def renamed(exc: errors.SkillBridgeError, rename: Callable[[str], str]) -> ApiError | errors.SkillBridgeError:
    """A scheduler's field error with its fields named as the REST route names them (`delay` is
    `delay_seconds` in JSON, `course_recommendation.*` is `payload.*` on the seed route); other errors as they are."""
    if not isinstance(exc, errors.InvalidRequest) or not exc.field_violations:
        return exc
    violations = [(rename(v.field), v.description) for v in exc.field_violations]
    return ApiError(400, "; ".join(f"{f} {d}" for f, d in violations), code=exc.code, violations=violations)


def validation_error(exc: RequestValidationError) -> JSONResponse:
    """Request validation (body, path, query, headers) as a 400 naming each field, like INVALID_ARGUMENT."""
    violations = [_violation(e) for e in exc.errors()]
    if not violations:
        violations = [("body", "is not valid")]
    detail = "; ".join(f"{f}: {d}" for f, d in violations[:5])
    if len(violations) > 5:
        detail += f"; and {len(violations) - 5} more"
    return error_response(400, detail, violations=violations)


def field_path(loc: Sequence[Any]) -> str:
    """("body", "course_recommendation", "threshold") -> "course_recommendation.threshold"; list indexes as
    "depends_on[3]"; a header by its HTTP name."""
    parts = list(loc)
    source = parts.pop(0) if parts and parts[0] in ("body", "query", "path", "header", "cookie") else None
    if not parts:
        return str(source or "body")
    if source == "header":
        return str(parts[0])
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _violation(error: Any) -> tuple[str, str]:
    loc = error.get("loc", ())
    if error.get("type") == "json_invalid":
        # FastAPI puts the character position where the field would be.
        reason = str((error.get("ctx") or {}).get("error", "")) or "JSON decode error"
        position = loc[1] if len(loc) > 1 else "?"
        return "body", f"is not valid JSON ({reason} at character {position})"
    return field_path(loc), _describe(error)


def _describe(error: Any) -> str:
    kind, ctx = error.get("type"), error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == r"\S":
        return "must not be empty"  # the scheduler's words for the same rule
    # pydantic's `msg` names the rule, not the input; the input itself is never repeated back.
    return str(error.get("msg", "is not valid")).removeprefix("Value error, ")


def allowed_methods(request: Request) -> list[str]:
    """Every documented method on this request's path (Starlette names only those of the first route that
    matched it, where several routes share a path)."""
    path = request.scope.get("path", "")
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        if _template_regex(template).fullmatch(path):
            methods |= {method.upper() for method in operations}
    return sorted(methods)


@functools.cache
def _template_regex(template: str) -> re.Pattern[str]:
    # Path parameters are job ids, which hold no "/" and no ":" (see routes_v1.JobIdConvertor).
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/:]+" if part.startswith("{") else re.escape(part) for part in parts))


def install_error_handlers(app: FastAPI) -> None:
    """Routes every error through the one shape."""

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(
            exc.status,
            exc.detail,
            code=exc.code,
            violations=exc.violations,
            retry_after=exc.retry_after,
            headers=exc.headers,
        )

    async def on_sdk_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.SkillBridgeError)
        return sdk_error(exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_error(exc)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else CODE_BY_STATUS.get(exc.status_code, "error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route that matched the path; several routes may share it.
            headers["Allow"] = ", ".join(allowed_methods(request))
        return error_response(exc.status_code, detail, headers=headers)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette re-raises after this answer, so the server logs the traceback once; nothing of it is sent.
        return error_response(500, "internal error")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(errors.SkillBridgeError, on_sdk_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting the given error statuses with the one shape."""
    words = {
        400: "Invalid input: `field_violations` names each field.",
        401: "Missing or unknown API key.",
        403: "The key may not do this (e.g. a priority above its tier).",
        404: "No such job of yours.",
        409: "The job is not in a state that allows this, or the request_id was used for another request.",
        413: "The request body is too large.",
        415: "Unsupported file type.",
        429: "Queue or quota full: retry after Retry-After seconds.",
        502: "The scheduler answered with an error the gateway has no better word for.",
        503: "The scheduler cannot be reached: retry after Retry-After seconds.",
        504: "The scheduler did not answer in time.",
    }
    return {s: {"model": ErrorBody, "description": words.get(s, "Error.")} for s in statuses}
