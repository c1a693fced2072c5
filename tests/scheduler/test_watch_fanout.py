"""Many watchers of one job: a notice wakes them all at once, and they take the new events from the notice, or,
when it did not bring them, share one read of them instead of each reading the store (counted, not timed)."""

from __future__ import annotations

import asyncio

from services.common.settings import Settings
from services.scheduler.core import Submission
from services.scheduler.feed import ChangeFeed
from services.scheduler.jobs import JobService
from services.scheduler.model import EventKind, JobEvent, JobType, JobView, NoopInput, Principal
from services.scheduler.store.base import JobStore
from services.scheduler.store.factory import open_store
from services.scheduler.store.redis import RedisJobStore
from tests.scheduler.redis_support import delete_prefix, require_redis, unique_prefix

WATCHERS = 50
OWNER = Principal("dev")


async def _reads_of_one_change(
    store: JobStore, feed: ChangeFeed, settings: Settings, *, events_in_notice: bool
) -> tuple[int, list[list[EventKind]]]:
    """WATCHERS streams follow one job to its history's end; then the job changes once. Returns how many store
    reads of events the woken streams made, and what each stream saw."""
    reads: list[int] = []
    read_events = store.events

    async def counted(job_id: str, after_sequence: int, limit: int = 1000) -> list[JobEvent]:
        reads.append(after_sequence)
        return await read_events(job_id, after_sequence, limit)

    store.events = counted  # type: ignore[method-assign]
    if not events_in_notice:  # as a notice relayed from another process: the events are not known
        notify = feed.job_changed
        feed.job_changed = lambda job_id, **kw: notify(job_id, elsewhere=kw.get("elsewhere", False))  # type: ignore[method-assign]
    try:
        jobs = JobService(store, feed, settings)
        view, _ = await jobs.submit(OWNER, Submission(type=JobType.NOOP, input=NoopInput()))
        job_id = view.job.id
        history = (await store.events(job_id, 0))[-1].sequence
        caught_up = asyncio.Semaphore(0)

        async def follow() -> list[EventKind]:
            kinds: list[EventKind] = []
            async for update in jobs.watch(OWNER, job_id, 0):
                if not isinstance(update, JobView):
                    kinds.append(update.kind)
                    if update.sequence == history:
                        caught_up.release()
            return kinds

        watchers = [asyncio.create_task(follow()) for _ in range(WATCHERS)]
        for _ in range(WATCHERS):
            await asyncio.wait_for(caught_up.acquire(), 10)
        # Every stream has sent the job's history and parks on the feed (no store call is pending): change the job.
        await jobs.cancel(OWNER, job_id, "changed")
        histories = await asyncio.wait_for(asyncio.gather(*watchers), 10)
        return sum(1 for after in reads if after == history), histories
    finally:
        await store.close()


async def test_watchers_woken_by_one_change_take_its_events_from_the_notice(settings: Settings) -> None:
    feed = ChangeFeed()
    woken, histories = await _reads_of_one_change(open_store(settings, feed), feed, settings, events_in_notice=True)
    assert all(kinds[-1] is EventKind.CANCELLED for kinds in histories)
    assert woken == 0, f"{woken} store reads for {WATCHERS} watchers of a change whose notice had its events"


async def test_watchers_woken_by_a_notice_without_events_share_one_read(settings: Settings) -> None:
    feed = ChangeFeed()
    woken, histories = await _reads_of_one_change(open_store(settings, feed), feed, settings, events_in_notice=False)
    assert all(kinds[-1] is EventKind.CANCELLED for kinds in histories)
    assert 1 <= woken <= WATCHERS // 10, f"{woken} reads for {WATCHERS} watchers of one change"


async def test_on_redis_a_change_made_here_brings_its_events_to_the_watchers_here(settings: Settings) -> None:
    url, prefix = await require_redis(), unique_prefix()
    feed = ChangeFeed()
    try:
        store = RedisJobStore(url, feed, prefix=prefix)
        woken, histories = await _reads_of_one_change(store, feed, settings, events_in_notice=True)
    finally:
        await delete_prefix(url, prefix)
    assert all(kinds[-1] is EventKind.CANCELLED for kinds in histories)
    assert woken == 0, f"{woken} store reads for {WATCHERS} watchers of a change whose notice had its events"
