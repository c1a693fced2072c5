"""The shared interceptor's stream wrapper, closed the way grpc.aio closes a stream whose client went away."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator
from typing import Any

from services.common.interceptors import _wrap_stream
from services.common.logs import job_id_var


class FakeContext:
    """Only what the wrapper reads from a servicer context."""

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),)


class Request:
    job_id = "job-1"


async def test_stream_closed_from_another_context_restores_nothing_and_raises_nothing() -> None:
    async def behavior(request: Any, context: Any) -> AsyncIterator[int]:
        for i in range(3):
            yield i

    stream = _wrap_stream("/x.Y/Watch", behavior)(Request(), FakeContext())
    first = await asyncio.create_task(stream.__anext__())  # runs in one task's copy of the context
    assert first == 0
    # ... and is closed from another context, as when the client cancels and grpc tears the stream down.
    await contextvars.copy_context().run(asyncio.create_task, stream.aclose())
    assert job_id_var.get() == ""


async def test_stream_sets_job_and_trace_ids_while_it_runs() -> None:
    seen: list[str] = []

    async def behavior(request: Any, context: Any) -> AsyncIterator[int]:
        seen.append(job_id_var.get())
        yield 1

    items = [i async for i in _wrap_stream("/x.Y/Watch", behavior)(Request(), FakeContext())]
    assert items == [1] and seen == ["job-1"]
    assert job_id_var.get() == ""
