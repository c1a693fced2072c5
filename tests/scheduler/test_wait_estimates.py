"""Wait estimates at depth: the dispatcher measures what a slot takes per job while every slot is busy, and a
queued job's estimate uses that service time."""

from __future__ import annotations

import pytest

from services.common.settings import Settings
from services.scheduler import convert
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
