"""Many watchers of one job: a notice wakes them all at once, and they share one read of the new events instead
of each reading the store (counted, not timed)."""

from __future__ import annotations

import asyncio

from services.common.settings import Settings
from services.scheduler.core import Submission
from services.scheduler.feed import ChangeFeed
from services.scheduler.jobs import JobService
from services.scheduler.model import EventKind, JobEvent, JobType, JobView, NoopInput, Principal
from services.scheduler.store.factory import open_store

WATCHERS = 50
OWNER = Principal("dev")


async def test_watchers_woken_by_one_change_share_the_read_of_its_events(settings: Settings) -> None:
    feed = ChangeFeed()
    store = open_store(settings, feed)
    reads: list[int] = []
    read_events = store.events

    async def counted(job_id: str, after_sequence: int, limit: int = 1000) -> list[JobEvent]:
        reads.append(after_sequence)
        return await read_events(job_id, after_sequence, limit)

    store.events = counted  # type: ignore[method-assign]
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
        assert all(kinds[-1] is EventKind.CANCELLED for kinds in histories)
        woken = [after for after in reads if after == history]
        assert 1 <= len(woken) <= WATCHERS // 10, f"{len(woken)} reads for {WATCHERS} watchers of one change"
    finally:
        await store.close()
