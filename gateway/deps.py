"""Request dependencies: the caller's API key and a scheduler client that calls as that caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from skillbridge_client import AsyncSchedulerClient

from services.common.tracing import outgoing_metadata


def api_key(request: Request) -> str | None:
    """The key from `Authorization: Bearer <key>`. EventSource cannot set headers, so `?access_token=` is
    accepted too."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() == "bearer" and key.strip():
        return key.strip()
    if header.strip():
        return header.strip()  # not a Bearer value: passed on, so the scheduler rejects it in words
    return request.query_params.get("access_token") or None


async def scheduler_client(request: Request, key: Annotated[str | None, Depends(api_key)]) -> AsyncSchedulerClient:
    """The app's shared client (built on first use, inside the event loop), calling with the caller's key."""
    state = request.app.state
    if state.client is None:
        state.client = AsyncSchedulerClient(state.settings.scheduler_address, timeout=state.call_timeout)
        state.owns_client = True
    client: AsyncSchedulerClient = state.client
    # Each request continues the caller's trace (or starts one): the scheduler and the stage services log and
    # export their spans under the same trace id.
    ((_, traceparent),) = outgoing_metadata(request.headers.get("traceparent"))
    return client.with_api_key(key, traceparent=traceparent)


Client = Annotated[AsyncSchedulerClient, Depends(scheduler_client)]
