"""The in-process change feed: no notice may be lost between a subscriber's read and its wait."""

from __future__ import annotations

import asyncio

import pytest

from services.scheduler.feed import RECENT_EVENTS, ChangeFeed, SharedReads
from services.scheduler.model import EventKind, JobEvent


async def test_a_notice_while_busy_wakes_the_next_wait_with_its_reason() -> None:
    feed = ChangeFeed()
    with feed.subscribe("job-1") as sub:
        feed.job_changed("job-1")  # arrives while the subscriber is busy reading
        assert await sub.wait(5.0)
        assert sub.job_moved and not sub.queue_moved
        assert not await sub.wait(0.01)  # consumed
        assert not sub.job_moved


async def test_queue_notices_reach_only_followers() -> None:
    feed = ChangeFeed()
    with feed.subscribe("job-1") as sub:
        feed.queue_changed()
        assert not await sub.wait(0.01)
        feed.follow_queue(sub, True)
        feed.queue_changed()
        assert await sub.wait(5.0)
        assert sub.queue_moved and not sub.job_moved
        feed.follow_queue(sub, False)
        feed.queue_changed()
        assert not await sub.wait(0.01)


async def test_elsewhere_only_subscribers_ignore_local_writes() -> None:
    feed = ChangeFeed()
    with feed.subscribe("job-1", elsewhere_only=True) as sub:
        feed.job_changed("job-1")
        assert not await sub.wait(0.01)
        feed.job_changed("job-1", elsewhere=True)
        assert await sub.wait(5.0)


class CountedRead:
    """A store read that counts its calls and finishes only when released."""

    def __init__(self) -> None:
        self.calls = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self) -> list[int]:
        self.calls += 1
        self.started.set()
        await self.release.wait()
        return [self.calls]


async def test_watchers_woken_together_share_one_read() -> None:
    reads, store = SharedReads[list[int]](), CountedRead()
    waiters = [asyncio.create_task(reads.read(("job-1", 3), store)) for _ in range(20)]
    await asyncio.wait_for(store.started.wait(), 5)
    assert reads.pending() == 1
    store.release.set()
    assert await asyncio.gather(*waiters) == [[1]] * 20
    assert store.calls == 1
    assert reads.pending() == 0
    # A later read (a new notice) reads again: nothing is cached past the moment.
    assert await reads.read(("job-1", 3), store) == [2]


async def test_reads_of_other_keys_are_not_shared() -> None:
    reads, store = SharedReads[list[int]](), CountedRead()
    store.release.set()
    await asyncio.gather(reads.read(("job-1", 3), store), reads.read(("job-1", 4), store))
    assert store.calls == 2


async def test_a_watcher_that_leaves_does_not_cancel_the_read_of_the_others() -> None:
    reads, store = SharedReads[list[int]](), CountedRead()
    leaving = asyncio.create_task(reads.read("k", store))
    staying = asyncio.create_task(reads.read("k", store))
    await asyncio.wait_for(store.started.wait(), 5)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    store.release.set()
    assert await asyncio.wait_for(staying, 5) == [1]


async def test_a_failed_read_fails_every_waiter_and_the_next_read_retries() -> None:
    reads = SharedReads[list[int]]()
    calls = 0

    async def failing() -> list[int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        raise ConnectionError("store down")

    results = await asyncio.gather(reads.read("k", failing), reads.read("k", failing), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results) and calls == 1
    with pytest.raises(ConnectionError):
        await reads.read("k", failing)
    assert calls == 2


async def test_changes_count_notices_of_followed_jobs_only() -> None:
    feed = ChangeFeed()
    feed.job_changed("job-1")  # nobody follows it: nothing to share, nothing kept
    assert feed.changes("job-1") == 0
    with feed.subscribe("job-1"):
        feed.job_changed("job-1")
        feed.job_changed("job-1", elsewhere=True)
        assert feed.changes("job-1") == 2
        feed.everything_changed()
        assert feed.changes("job-1") == 3
    assert feed.changes("job-1") == 0  # forgotten with its last follower


async def test_a_read_that_started_before_a_change_is_not_shared_after_it() -> None:
    feed, reads, store = ChangeFeed(), SharedReads[list[int]](), CountedRead()
    with feed.subscribe("job-1"):
        early = asyncio.create_task(reads.read(("job-1", feed.changes("job-1")), store))
        await asyncio.wait_for(store.started.wait(), 5)
        feed.job_changed("job-1")  # committed after the early read began: it may not show
        late = asyncio.create_task(reads.read(("job-1", feed.changes("job-1")), store))
        store.release.set()
        assert await asyncio.wait_for(asyncio.gather(early, late), 5) == [[1], [2]]


def _event(sequence: int, job_id: str = "job-1") -> JobEvent:
    return JobEvent(job_id, sequence, 0.0, EventKind.STARTED)


async def test_notices_bring_the_events_of_a_followed_job() -> None:
    feed = ChangeFeed()
    feed.job_changed("job-1", events=[_event(1)])  # nobody follows it yet: nothing is kept
    with feed.subscribe("job-1"):
        assert feed.events_after("job-1", 0) is None
        feed.job_changed("job-1", events=[_event(2), _event(3)])
        feed.job_changed("job-1", events=[])  # a change that wrote no event leaves what is kept whole
        feed.job_changed("job-1", events=[_event(4)])
        assert [e.sequence for e in feed.events_after("job-1", 1) or []] == [2, 3, 4]
        assert [e.sequence for e in feed.events_after("job-1", 3) or []] == [4]
        assert feed.events_after("job-1", 4) == []
        assert feed.events_after("job-1", 0) is None  # event 1 came before anyone followed: read the store
    assert feed.events_after("job-1", 1) is None  # forgotten with its last follower


async def test_a_notice_without_its_events_or_with_a_hole_sends_watchers_to_the_store() -> None:
    feed = ChangeFeed()
    with feed.subscribe("job-1"):
        feed.job_changed("job-1", events=[_event(1), _event(2)])
        feed.job_changed("job-1", elsewhere=True)  # relayed from another process: its events are unknown
        assert feed.events_after("job-1", 2) is None
        feed.job_changed("job-1", events=[_event(5)])  # after a hole: kept from here on
        assert feed.events_after("job-1", 2) is None
        assert [e.sequence for e in feed.events_after("job-1", 4) or []] == [5]
        feed.everything_changed()  # notices may have been missed
        assert feed.events_after("job-1", 4) is None


async def test_only_the_latest_events_are_kept() -> None:
    feed = ChangeFeed()
    with feed.subscribe("job-1"):
        feed.job_changed("job-1", events=[_event(n) for n in range(1, RECENT_EVENTS + 11)])
        assert feed.events_after("job-1", 5) is None
        assert len(feed.events_after("job-1", 10) or []) == RECENT_EVENTS


async def test_a_wait_that_is_cancelled_leaves_the_subscription_usable() -> None:
    feed = ChangeFeed()
    with feed.subscribe("job-1") as sub:
        waiting = asyncio.create_task(sub.wait(30.0))
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        feed.job_changed("job-1")
        assert await sub.wait(5.0)
