"""Wait estimates at depth: the dispatcher measures what a slot takes per job while every slot is busy, and a
queued job's estimate uses that service time."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from services.common.settings import Settings
from services.scheduler import convert
from services.scheduler.dispatcher import Dispatcher
from services.scheduler.feed import ChangeFeed
from services.scheduler.model import JobType, Principal
from services.scheduler.server import start
from tests.scheduler.grpc_helpers import course_request
from tests.scheduler.stage_doubles import Behavior, StageDoubles

STAGE_DELAY = 0.05


async def test_slot_times_are_measured_under_load_and_used_for_estimates(
    stage_settings: Settings, doubles: tuple[StageDoubles, str]
) -> None:
    doubles[0].behaviors["ExtractEntities"] = Behavior(delay=STAGE_DELAY)
    server = await start(stage_settings.replace(concurrency=2), port=0)
    try:
        jobs, dev = server.jobs, Principal("dev")
        ids = []
        for i in range(16):
            view, _ = await jobs.submit(dev, convert.submission(course_request(skip_cache=True, request_id=f"r{i}")))
            ids.append(view.job.id)
        for job_id in ids:
            assert (await jobs.wait_until_done(dev, job_id, 30.0)).job.state.terminal
        slot = (await server.store.timings())["slot:course_recommendation"]
        # Two slots, each job at least one stage delay long: a slot takes at least that per job.
        assert slot.samples >= 1 and slot.p50 >= STAGE_DELAY * 0.9
        status = await jobs.queue_status(dev)  # re-reads the timings
        assert "slot:course_recommendation" in status.timings
        expected = slot.recent if slot.samples >= 5 else status.timings["job:course_recommendation"].recent
        assert jobs.mean_job_seconds(JobType.COURSE_RECOMMENDATION) == pytest.approx(expected)
    finally:
        await server.stop(0.5)


class TimingLog:
    """Stands in for the store: only the slot times the dispatcher writes."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    async def record_timing(self, key: str, seconds: float, now: float) -> None:
        self.samples.append(seconds)


async def test_a_slot_time_counts_every_busy_interval_not_only_unbroken_stretches(stage_settings: Settings) -> None:
    """Two slots, a job ending every 0.1 s (a slot takes 0.2 s per job), and every third completion finding a slot
    free, as under a closed loop of clients. Only whole busy stretches of 0.25 s used to count: none of these
    reached it, so only rarer, slower stretches made samples. The intervals between busy completions add up."""
    timings = TimingLog()
    dispatcher = Dispatcher(timings, ChangeFeed(), {}, stage_settings.replace(concurrency=2))  # type: ignore[arg-type]
    job = SimpleNamespace(type=JobType.COURSE_RECOMMENDATION)
    for tick in range(1, 31):
        slots_taken = 1 if tick % 3 == 0 else 2
        dispatcher._active = {str(i): None for i in range(slots_taken)}  # type: ignore[misc]
        await dispatcher._measure_slot_time(job, now=tick * 0.1)  # type: ignore[arg-type]
    assert timings.samples, "no slot time was measured"
    assert all(abs(sample - 0.2) < 1e-9 for sample in timings.samples), timings.samples
