"""Following one job live: the events after a sequence, in order, from the change feed when a notice brought
them and from the store otherwise, and a fresh snapshot whenever a queued job's place changes. No grpc here:
JobService hands over the first snapshot, or how to read it (checking the caller may see the job); the servicer
converts."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial

from services.common import errors
from services.scheduler.feed import ChangeFeed, SharedReads
from services.scheduler.model import EventKind, JobEvent, JobRecord, JobState, JobView
from services.scheduler.store.base import JobStore

# How often a watcher re-reads the store when no in-process notice came (another process may have written).
WATCH_POLL_SECONDS = 1.0
# ...and all watchers of one process together at most about this often per second. The poll only covers a
# notice the store's relay lost; a thousand watchers polling every second would queue every other call behind
# two thousand reads a second. Each then polls every followers / this many seconds.
WATCH_POLLS_PER_SECOND = 250.0
# A queued job's watcher re-counts its position at most this often, however fast the queue moves.
POSITION_INTERVAL_SECONDS = 0.1
# ...and all queued jobs' watchers of one process together at most about this often per second: with a
# thousand of them, one store read each per 0.1 s while the queue drains would queue every other call (a
# submit) behind ten thousand reads a second. Each then re-counts every followers / this many seconds.
POSITION_READS_PER_SECOND = 500.0
# Events after which a job has a new place in the queue.
REQUEUED_EVENTS = frozenset({EventKind.QUEUED, EventKind.RELEASED, EventKind.RETRIED})


class JobWatcher:
    """The live follow of a job, for every watch stream of one process."""

    def __init__(
        self,
        store: JobStore,
        feed: ChangeFeed,
        view: Callable[[JobRecord], Awaitable[JobView]],
        closing: Callable[[], bool],
    ) -> None:
        self._store, self._feed, self._view, self._closing = store, feed, view, closing
        # Every watcher of a job wakes at its change: they share one read of the events and of the record.
        self._event_reads: SharedReads[list[JobEvent]] = SharedReads()
        self._record_reads: SharedReads[JobRecord | None] = SharedReads()

    async def follow(
        self,
        job_id: str,
        after_sequence: int,
        snapshot: JobView | None,
        first_view: Callable[[], Awaitable[JobView]],
    ) -> AsyncIterator[JobView | JobEvent]:
        """Every event after `after_sequence` in order, live; ends after the terminal event. It starts from
        `snapshot` when the caller already sent one (a submit's answer), else from `first_view()`, sent first.
        While the job is queued, a fresh snapshot follows whenever its position changes."""
        if snapshot is None:
            snapshot = await first_view()
            yield snapshot
        job = snapshot.job
        last = max(after_sequence, 0)
        position = snapshot.position
        current: JobRecord | None = job  # the record, while it is queued (its place comes from it)
        checked_at = time.monotonic()
        position_due = False  # the queue moved since the position was last counted
        with self._feed.subscribe(job_id) as sub:
            reread, notified = True, False  # notified: a notice woke the last wait (before the first: a poll)
            while True:
                if reread:
                    changes = self._feed.changes(job_id)
                    # Woken by a notice: the events it brought, if it brought them all (a poll reads the store,
                    # since a poll is there for the notices that never came).
                    events = self._feed.events_after(job_id, last) if notified else None
                    if events is None:
                        events = await self._event_reads.read(
                            (job_id, last, changes), partial(self._store.events, job_id, last)
                        )
                    for event in events:
                        yield event
                        last = event.sequence
                        if event.kind.terminal:
                            return
                    if events and events[-1].kind not in REQUEUED_EVENTS:
                        current = None  # started, scheduled or waiting since: not in the queue
                    elif events and current is not None and current.last_sequence >= last:
                        # The record in hand already holds every event read (a submit's own record and its
                        # queued event, or a record read after them): a second read would find the same.
                        pass
                    elif events or not notified or current is not None:
                        # The job (re)entered the queue with a new place, or is still queued, or a poll found
                        # nothing new: read the record itself. (A notice about a write already seen, for a job
                        # not in the queue, needs no read: a thousand watchers of one job would all make it.)
                        current = await self._record_reads.read((job_id, changes), partial(self._store.get, job_id))
                        if current is None:
                            return  # swept away after its TTL
                        if current.state.terminal and last >= current.last_sequence:
                            return
                queued = current is not None and current.state is JobState.QUEUED
                position_due = queued and (position_due or sub.queue_moved)
                interval = max(POSITION_INTERVAL_SECONDS, self._feed.queue_followers() / POSITION_READS_PER_SECOND)
                left = interval - (time.monotonic() - checked_at)
                if position_due and left <= 0:
                    assert current is not None
                    position_due, checked_at = False, time.monotonic()
                    fresh = await self._view(current)
                    if fresh.position != position:
                        position = fresh.position
                        yield fresh
                if self._closing():
                    raise errors.Unavailable(
                        f"the scheduler is shutting down: watch job {job_id} again to resume after sequence {last}"
                    )
                # Only a queued job's watcher cares that the queue moves; a running job's wakes for its own events.
                self._feed.follow_queue(sub, queued)
                timer = position_due and left > 0
                poll = max(WATCH_POLL_SECONDS, self._feed.job_followers() / WATCH_POLLS_PER_SECOND)
                notified = await sub.wait(left if timer else poll)
                reread = sub.job_moved or (not notified and not timer)
