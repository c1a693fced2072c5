"""Request dependencies: the caller's API key and a scheduler client that calls as that caller.

The key comes from `Authorization: Bearer <key>`. Only the event stream also takes `?access_token=` (EventSource
cannot send headers); `redact.AccessTokenRedaction` has already moved that token out of the query string (so no
log line records it) into the request scope, where `stream_api_key` reads it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from skillbridge_client import AsyncSchedulerClient

from gateway.errors import ApiError, invalid
from gateway.redact import ACCESS_TOKEN, SCOPE_TOKEN_KEY
from gateway.settings import GatewaySettings
from services.common.tracing import outgoing_metadata

# gRPC metadata must stay small (an oversized key would come back as RESOURCE_EXHAUSTED) and printable ASCII.
MAX_KEY_CHARS = 512


def _checked(key: str) -> str:
    if len(key) > MAX_KEY_CHARS or not key.isascii() or not key.isprintable():
        raise ApiError(401, f"the API key must be at most {MAX_KEY_CHARS} printable ASCII characters")
    return key


def _header_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "").strip()
    scheme, _, key = header.partition(" ")
    if scheme.lower() == "bearer" and key.strip():
        return _checked(key.strip())
    if header:
        return _checked(header)  # not a Bearer value: passed on, so the scheduler rejects it in words
    return None


def api_key(request: Request) -> str | None:
    """The key from `Authorization: Bearer <key>`; a query-string token is refused outside the event stream."""
    if SCOPE_TOKEN_KEY in request.scope:
        raise invalid(
            ACCESS_TOKEN,
            "is accepted only on GET /v1/jobs/{job_id}/events, where EventSource cannot send headers; "
            "send Authorization: Bearer <key>",
        )
    return _header_key(request)


def stream_api_key(
    request: Request,
    access_token: Annotated[
        str,
        Query(
            max_length=MAX_KEY_CHARS,
            description="The API key, for EventSource, which cannot send an Authorization header. Never logged.",
        ),
    ] = "",
) -> str | None:
    """The key from the Authorization header, else from `?access_token=` (taken from the scope: the query string
    the route sees carries only a placeholder)."""
    del access_token  # declared for the OpenAPI document; the value is read from the scope
    header = _header_key(request)
    if header is not None:
        return header
    token = request.scope.get(SCOPE_TOKEN_KEY)
    return _checked(token) if isinstance(token, str) and token else None


def _client_for(request: Request, key: str | None) -> AsyncSchedulerClient:
    """The app's shared client (built on first use, inside the event loop), calling as `key`."""
    state = request.app.state
    if state.client is None:
        state.client = AsyncSchedulerClient(state.settings.scheduler_address, timeout=state.call_timeout)
        state.owns_client = True
    client: AsyncSchedulerClient = state.client
    # Each request continues the caller's trace (or starts one): the scheduler and the stage services log and
    # export their spans under the same trace id.
    ((_, traceparent),) = outgoing_metadata(request.headers.get("traceparent"))
    return client.with_api_key(key, traceparent=traceparent)


async def scheduler_client(request: Request, key: Annotated[str | None, Depends(api_key)]) -> AsyncSchedulerClient:
    return _client_for(request, key)


async def stream_scheduler_client(
    request: Request, key: Annotated[str | None, Depends(stream_api_key)]
) -> AsyncSchedulerClient:
    return _client_for(request, key)


def app_settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


AppSettings = Annotated[GatewaySettings, Depends(app_settings)]
Client = Annotated[AsyncSchedulerClient, Depends(scheduler_client)]
StreamClient = Annotated[AsyncSchedulerClient, Depends(stream_scheduler_client)]
