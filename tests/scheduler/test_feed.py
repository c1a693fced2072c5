"""The in-process change feed: no notice may be lost between a subscriber's read and its wait."""

from __future__ import annotations

from services.scheduler.feed import ChangeFeed


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
