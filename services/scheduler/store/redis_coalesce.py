"""Calls of one Lua script made in the same turn of the event loop, sent to Redis together.

A dispatcher running 64 jobs finishes many of them in one turn of the loop, and each finish is one GUARDED call:
one connection taken from the pool, one send, one read. Sent one by one, the client's share of that work (the
pool's hand-out above all) is most of the scheduler's cost per job. Here the first call of a turn schedules a
send at the end of the turn; every call made before then joins it, and all go as one pipelined round trip
(EVALSHA each; Redis runs them one after another, each atomic as before). A call alone in its turn goes as it
always did. Each caller gets its own reply, or its own error: a script that fails fails only its call.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis import asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

Waiting = tuple[list[Any], "asyncio.Future[Any]"]


class CoalescedScript:
    """A registered script whose calls of one loop turn travel in one pipeline."""

    def __init__(self, client: aioredis.Redis, script: AsyncScript) -> None:
        self._client = client
        self._script = script
        self._waiting: list[Waiting] = []
        self._sending: set[asyncio.Task[None]] = set()  # held so a send in flight is not collected

    async def __call__(self, *, args: list[Any]) -> Any:
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[Any] = loop.create_future()
        self._waiting.append((args, reply))
        if len(self._waiting) == 1:
            loop.call_soon(self._send)  # after the tasks already ready in this turn have made their calls
        return await reply

    def _send(self) -> None:
        batch, self._waiting = self._waiting, []
        task = asyncio.ensure_future(self._run(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _run(self, batch: list[Waiting]) -> None:
        try:
            replies = await self._replies([args for args, _ in batch])
        except asyncio.CancelledError:
            for _, reply in batch:
                reply.cancel()
            raise
        except Exception as exc:  # the round trip itself failed: every call of it did
            for _, reply in batch:
                if not reply.done():
                    reply.set_exception(exc)
            return
        for (_, reply), answer in zip(batch, replies, strict=True):
            if reply.done():  # its caller gave up waiting; the write went all the same, as a lone call's would
                continue
            if isinstance(answer, Exception):
                reply.set_exception(answer)
            else:
                reply.set_result(answer)

    async def _replies(self, calls: list[list[Any]]) -> list[Any]:
        if len(calls) == 1:
            return [await self._script(args=calls[0])]
        async with self._client.pipeline(transaction=False) as pipe:
            for args in calls:
                pipe.evalsha(self._script.sha, 0, *args)
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        # A server that lost its scripts (restarted, or flushed) answers NOSCRIPT: those calls go again one by one,
        # and the first of them loads the script.
        for i, answer in enumerate(replies):
            if isinstance(answer, NoScriptError):
                try:
                    replies[i] = await self._script(args=calls[i])
                except Exception as exc:
                    replies[i] = exc
        return replies
