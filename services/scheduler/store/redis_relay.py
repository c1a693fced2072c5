"""Change notices between processes that share one Redis store.

Each commit PUBLISHes a message (inside its MULTI or script) naming the jobs it changed and whether the queue
moved; a subscriber task in every other process hands it to that process's ChangeFeed, so watchers and idle
dispatchers wake at once. What the channel misses (a reconnect) the watch poll still catches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Collection, Iterable, Mapping

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from services.common.tasks import cancel_and_wait
from services.scheduler.feed import ChangeFeed
from services.scheduler.model import JobEvent

log = logging.getLogger(__name__)

RESUBSCRIBE_MAX_SECONDS = 5.0


class ChangeRelay:
    """Carries change notices between processes sharing one store. Each commit PUBLISHes `message(...)` (inside
    its MULTI or script); a subscriber task hands other processes' messages to the local ChangeFeed. Our own
    commits notify the feed directly, so messages tagged with our origin are skipped."""

    def __init__(self, client: aioredis.Redis, channel: str, feed: ChangeFeed, *, subscribe: bool) -> None:
        self._client, self.channel, self._feed, self._subscribe = client, channel, feed, subscribe
        self._origin = os.urandom(6).hex()
        self._listener: asyncio.Task[None] | None = None
        self._first_attempt: asyncio.Event | None = None
        self._closed = False

    def message(self, job_ids: Iterable[str], queue_moved: bool) -> str:
        return " ".join([self._origin, "q" if queue_moved else "-", *job_ids])

    def notify(
        self,
        job_ids: Iterable[str],
        queue_moved: bool,
        *,
        elsewhere: bool = False,
        events: Mapping[str, Collection[JobEvent]] | None = None,
    ) -> None:
        """Notices for a commit of this process, or with `elsewhere` of another one. `events`: what the commit
        wrote for each job, when the caller knows it (a job left out: not known; see ChangeFeed.job_changed)."""
        for job_id in job_ids:
            self._feed.job_changed(job_id, elsewhere=elsewhere, events=None if events is None else events.get(job_id))
        if queue_moved:
            self._feed.queue_changed()

    async def ready(self) -> None:
        """Starts the subscriber on first use, inside the running loop, and waits for its first subscribe, so
        every commit made after any store call returns reaches this process's feed."""
        if not self._subscribe or self._closed:
            return
        if self._listener is None:
            self._first_attempt = asyncio.Event()
            self._listener = asyncio.create_task(self._listen(), name=f"change-relay:{self.channel}")
        if self._first_attempt is not None and not self._first_attempt.is_set():
            await self._first_attempt.wait()

    async def _listen(self) -> None:
        assert self._first_attempt is not None
        delay, subscribed_before = 0.1, False
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                if subscribed_before:
                    self._feed.everything_changed()  # notices may have been lost while we were away
                subscribed_before, delay = True, 0.1
                self._first_attempt.set()
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is not None:
                        self._relay(message["data"])
            except (RedisError, OSError) as exc:
                log.warning("change subscription to %s lost (%s); resubscribing", self.channel, exc)
            finally:
                self._first_attempt.set()  # callers go on without it; the watch poll covers what is missed
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
            await asyncio.sleep(delay)  # a reconnect backoff, not synchronisation
            delay = min(delay * 2, RESUBSCRIBE_MAX_SECONDS)

    def _relay(self, data: bytes) -> None:
        origin, queue_moved, *job_ids = data.decode().split(" ")
        if origin != self._origin:
            self.notify(job_ids, queue_moved == "q", elsewhere=True)

    async def close(self) -> None:
        self._closed = True
        if self._listener is not None:
            await cancel_and_wait(self._listener)  # a plain cancel can be lost inside a redis-py call
            self._listener = None
