"""Wait estimates at depth: the dispatcher measures what a slot takes per job while every slot is busy, and a
queued job's estimate uses that service time."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import grpc
import pytest
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from services.common.settings import Settings
from services.scheduler import convert, estimates
from services.scheduler.dispatcher import Dispatcher
from services.scheduler.feed import ChangeFeed
from services.scheduler.model import JobType, Principal
from services.scheduler.server import start
from tests.scheduler.grpc_helpers import course_request
from tests.scheduler.stage_doubles import Behavior, StageDoubles
from tests.support import assert_eventually

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
        # Too few samples under load: a job's duration, or two slots' calls in line at the busiest service.
        fallback = max(
            status.timings["job:course_recommendation"].recent,
            2 * estimates.bottleneck_seconds(status.timings, JobType.COURSE_RECOMMENDATION),
        )
        expected = slot.recent if slot.samples >= estimates.MIN_SLOT_SAMPLES else fallback
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


async def test_a_watcher_gets_a_new_estimate_each_time_the_queue_moves(
    stage_settings: Settings, doubles: tuple[StageDoubles, str]
) -> None:
    """One slot; the first job holds it at entity recognition until let go, and so does the second. The third's
    watcher sees it second in line, then first, each time with the estimate of its new place (a smaller one)."""
    d = doubles[0]
    first_gate, second_gate = asyncio.Event(), asyncio.Event()
    d.behaviors["ExtractEntities"] = Behavior(gate=first_gate)
    # A prior far above what any job here takes, so the measured times that replace it only lower the estimate.
    server = await start(stage_settings.replace(concurrency=1, default_job_seconds=60.0), port=0)
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.JobSchedulerServiceStub(channel)
            await stub.SubmitJob(course_request(skip_cache=True))
            await asyncio.wait_for(d.signal("ExtractEntities").wait(), 10)  # the first holds the slot
            await stub.SubmitJob(course_request(skip_cache=True))
            third = (await stub.SubmitJob(course_request(skip_cache=True))).job
            assert third.position_in_queue == 2 and third.estimated_wait.ToTimedelta().total_seconds() > 0
            stream = stub.WatchJob(pb.WatchJobRequest(job_id=third.id, after_sequence=third.last_sequence))
            first_seen = (await asyncio.wait_for(stream.read(), 10)).snapshot
            assert first_seen.position_in_queue == 2
            # The second job will hold the slot in its turn: the third stays first in line until it is let go.
            d.behaviors["ExtractEntities"] = Behavior(gate=second_gate)
            first_gate.set()
            moved = (await asyncio.wait_for(stream.read(), 10)).snapshot
            assert moved.position_in_queue == 1
            before = first_seen.estimated_wait.ToTimedelta().total_seconds()
            after = moved.estimated_wait.ToTimedelta().total_seconds()
            assert 0 < after < before
            second_gate.set()
            stream.cancel()

            async def third_done() -> bool:
                job = (await stub.GetJob(pb.GetJobRequest(job_id=third.id))).job
                return job.HasField("end_time")

            await assert_eventually(third_done, within=10)
    finally:
        await server.stop(0.5)
