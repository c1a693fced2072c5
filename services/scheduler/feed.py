"""In-process change notifications: who is waiting for a job's next event or for the queue to move.

Stores publish after each commit; WatchJob streams and idle dispatcher workers wait here instead of polling.
A store shared between processes also polls on a timeout, so a missed wake-up only delays, never loses.

A store that knows which events a commit wrote hands them over with the notice. The feed keeps the latest ones
of each followed job, so that the watchers a notice wakes read them here, not from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Hashable, Iterator
from typing import Generic, TypeVar

from services.scheduler.model import JobEvent

T = TypeVar("T")
# Events kept per followed job. A watcher further behind than this reads the store, as every watcher did before.
RECENT_EVENTS = 64


class Subscription:
    """A wake-up flag registered for one job and/or the queue; `elsewhere_only` ones wake only for changes
    another process made."""

    def __init__(self, *, elsewhere_only: bool = False) -> None:
        self._waiter: asyncio.Future[None] | None = None
        self._notified = False
        self.elsewhere_only = elsewhere_only
        self._job = self._queue = False  # notices since the last wait returned
        # What woke the last wait: the job changed, and/or the queue moved.
        self.job_moved = False
        self.queue_moved = False

    def notify(self, *, queue: bool = False) -> None:
        if queue:
            self._queue = True
        else:
            self._job = True
        self._notified = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, within: float) -> bool:
        """Waits until notified or `within` seconds pass; True when notified. A notice that came while the
        subscriber was busy counts: the wait returns at once. job_moved and queue_moved then say why.

        A bare future and a timer, not `asyncio.wait_for(event.wait())`: that wraps every wait in a task of its
        own, and one notice wakes a thousand watchers at once (tests/bench/fanout.py)."""
        if not self._notified:
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            timer = loop.call_later(within, _time_up, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
        notified = self._notified
        self._notified = False
        self.job_moved, self.queue_moved = self._job, self._queue
        self._job = self._queue = False
        return notified


def _time_up(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class ChangeFeed:
    """Fans change notices out to subscribers in this process."""

    def __init__(self) -> None:
        self._by_job: defaultdict[str, set[Subscription]] = defaultdict(set)
        self._queue: set[Subscription] = set()
        self._job_subscriptions = 0
        self._changes: dict[str, int] = {}  # notices so far per followed job (see `changes`)
        # The latest events of each followed job, in sequence without a hole, up to the job's latest notice.
        self._recent: dict[str, list[JobEvent]] = {}

    def job_changed(self, job_id: str, *, elsewhere: bool = False, events: Collection[JobEvent] | None = None) -> None:
        """`elsewhere`: another process committed the change (a shared store relays those). `events`: every
        event the change wrote for the job, in order (none is an answer too); None when the notifier does not
        know them, and then the job's watchers read the store."""
        subs = self._by_job.get(job_id, ())
        if subs:
            self._changes[job_id] = self._changes.get(job_id, 0) + 1
            self._keep(job_id, events)
        for sub in subs:
            if elsewhere or not sub.elsewhere_only:
                sub.notify()

    def _keep(self, job_id: str, events: Collection[JobEvent] | None) -> None:
        if events is None:
            self._recent.pop(job_id, None)  # a change whose events are unknown: what is kept may have a hole
            return
        if not events:
            return
        new = list(events)
        kept = self._recent.get(job_id)
        if kept is None or kept[-1].sequence + 1 != new[0].sequence:
            kept = self._recent[job_id] = []  # none yet, or not next to what is kept: start again from these
        kept.extend(new)
        del kept[:-RECENT_EVENTS]

    def events_after(self, job_id: str, sequence: int) -> list[JobEvent] | None:
        """Every event of the job after `sequence` up to its latest notice, when notices brought them all; None
        when the store must be read (the watcher is further behind, or a notice came without its events)."""
        kept = self._recent.get(job_id)
        if not kept or kept[0].sequence > sequence + 1:
            return None
        return [event for event in kept if event.sequence > sequence]

    def queue_changed(self) -> None:
        for sub in self._queue:
            sub.notify(queue=True)

    def follow_queue(self, sub: Subscription, follow: bool) -> None:
        """Starts or stops waking `sub` when the queue moves (a watcher needs that only while its job is queued)."""
        if follow:
            self._queue.add(sub)
        else:
            self._queue.discard(sub)

    def changes(self, job_id: str) -> int:
        """How many notices about a followed job have come so far. A read started now sees every change noticed
        up to this count (stores notify after they commit), so readers woken by the same notice may share it."""
        return self._changes.get(job_id, 0)

    def job_followers(self) -> int:
        """How many subscriptions follow one job (WatchJob streams, mostly)."""
        return self._job_subscriptions

    def queue_followers(self) -> int:
        """How many subscribers wake when the queue moves."""
        return len(self._queue)

    def everything_changed(self) -> None:
        """Wakes every subscriber, for when notices may have been missed (a shared store's notification
        channel was down for a while): each re-reads the store."""
        self._recent.clear()
        for job_id, subs in self._by_job.items():
            self._changes[job_id] = self._changes.get(job_id, 0) + 1
            for sub in subs:
                sub.notify()
        self.queue_changed()

    @contextlib.contextmanager
    def subscribe(
        self, job_id: str | None = None, *, queue: bool = False, elsewhere_only: bool = False
    ) -> Iterator[Subscription]:
        """Registers a subscription for the duration of a with-block (register before reading, so no notice
        between the read and the wait is lost)."""
        sub = Subscription(elsewhere_only=elsewhere_only)
        if job_id is not None:
            self._by_job[job_id].add(sub)
            self._job_subscriptions += 1
        if queue:
            self._queue.add(sub)
        try:
            yield sub
        finally:
            if job_id is not None:
                self._job_subscriptions -= 1
                subs = self._by_job.get(job_id)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._by_job[job_id]
                        self._changes.pop(job_id, None)
                        self._recent.pop(job_id, None)
            self._queue.discard(sub)


class SharedReads(Generic[T]):
    """Identical reads made at the same moment share one call. One notice wakes every watcher of a job at
    once, and each would read the same new events from the store: the first to ask starts the read, the
    others await its result (a thousand streams on fifty jobs make fifty reads, not a thousand).

    The key must say how fresh the read has to be (`ChangeFeed.changes` of the job): a reader woken by a later
    notice may not join a read that started before that notice's change was committed."""

    def __init__(self) -> None:
        self._pending: dict[Hashable, asyncio.Future[T]] = {}

    def pending(self) -> int:
        """Reads under way now."""
        return len(self._pending)

    async def read(self, key: Hashable, start: Callable[[], Awaitable[T]]) -> T:
        found = self._pending.get(key)
        if found is None:
            found = asyncio.ensure_future(start())
            self._pending[key] = found
            found.add_done_callback(lambda done: self._forget(key, done))
        # Shielded: one watcher going away (its client hung up) must not cancel the read the others wait on.
        return await asyncio.shield(found)

    def _forget(self, key: Hashable, done: asyncio.Future[T]) -> None:
        if self._pending.get(key) is done:
            del self._pending[key]
