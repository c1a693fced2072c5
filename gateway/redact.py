"""Keeps `?access_token=` out of every log line.

EventSource cannot send headers, so the event stream takes the API key in the query string, which uvicorn's
access log would otherwise record verbatim. `AccessTokenRedaction` (outermost ASGI middleware) moves the token out
of the query string into the request scope before anything runs, so the access log, metrics and any error report
see `access_token=redacted`; `RedactingFilter` rewrites any log line that still carries one (installed on the
process's handlers by `server.serve`)."""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Receive, Scope, Send

ACCESS_TOKEN = "access_token"
SCOPE_TOKEN_KEY = "skillbridge.access_token"
PLACEHOLDER = "redacted"

_TOKEN_IN_TEXT = re.compile(r"(access_token(?:=|%3D|\"?\s*:\s*\"?))[^&\s\"']+", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with every access_token value replaced by the placeholder."""
    return _TOKEN_IN_TEXT.sub(rf"\g<1>{PLACEHOLDER}", text)


def take_token(query_string: bytes) -> tuple[bytes, str | None]:
    """The query string with access_token values (any letter case) replaced by the placeholder, and the last
    token named exactly `access_token` (parameter names are case-sensitive; a near miss is still redacted)."""
    token: str | None = None
    parts = []
    for part in query_string.split(b"&"):
        name, sep, value = part.partition(b"=")
        decoded = unquote_plus(name.decode("latin-1"))
        if decoded.lower() == ACCESS_TOKEN:
            if decoded == ACCESS_TOKEN:
                token = unquote_plus(value.decode("latin-1"))
            parts.append(name + b"=" + PLACEHOLDER.encode())
        else:
            parts.append(name + sep + value)
    return b"&".join(parts), token


class AccessTokenRedaction:
    """ASGI middleware: access_token leaves the query string on the way in (uvicorn logs the scope's query
    string at the response), and waits in scope[SCOPE_TOKEN_KEY] for the one route that accepts it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"")
        if scope["type"] in ("http", "websocket") and b"access_token" in query.lower().replace(b"%5f", b"_"):
            redacted, token = take_token(query)
            scope["query_string"] = redacted  # in place: the server's access log reads this same scope
            if token is not None:
                scope[SCOPE_TOKEN_KEY] = token
        await self.app(scope, receive, send)


class RedactingFilter(logging.Filter):
    """Rewrites a log record whose message carries an access_token value."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if redact(message) == message:
            return True
        if isinstance(record.args, tuple):
            # Arguments stay a tuple where that is enough: uvicorn's access formatter unpacks them.
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
            if isinstance(record.msg, str):
                record.msg = redact(record.msg)
            message = record.getMessage()
        if redact(message) != message:
            record.msg, record.args = redact(message), None
        return True


def install_log_redaction() -> None:
    """Adds RedactingFilter to every handler of the root logger and of uvicorn's loggers (called from serve(),
    after logging is configured)."""
    for name in ("", "uvicorn", "uvicorn.access", "uvicorn.error"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
