"""Wait estimates at depth: the dispatcher measures what a slot takes per job while every slot is taken, and a
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


def finished_job(job_id: str, started: float) -> SimpleNamespace:
    return SimpleNamespace(id=job_id, type=JobType.COURSE_RECOMMENDATION, start_time=started)


async def test_a_slot_time_is_what_a_job_takes_while_every_slot_is_taken_even_when_jobs_run_in_step(
    stage_settings: Settings,
) -> None:
    """Two slots, jobs of 0.2 s that start in pairs and end in pairs, as 16 clients on 16 slots did. Timed by the
    gaps between completions that both found every slot taken, this measured nothing (the second of each pair
    finds a slot free), and in longer bunches a sample held one gap between two bunches over one completion. Each
    job's own duration says 0.2 s, which is what a slot refilled at once takes per job."""
    timings = TimingLog()
    dispatcher = Dispatcher(timings, ChangeFeed(), {}, stage_settings.replace(concurrency=2))  # type: ignore[arg-type]
    for turn in range(10):
        started, ended = turn * 0.2, turn * 0.2 + 0.2
        pair = [finished_job(f"{turn}-{i}", started) for i in range(2)]
        dispatcher._started_full.update(j.id for j in pair)
        dispatcher._active = {j.id: None for j in pair}  # type: ignore[misc]
        for j in pair:
            await dispatcher._measure_slot_time(j, now=ended)  # type: ignore[arg-type]
            del dispatcher._active[j.id]
    assert len(timings.samples) >= 4, "no slot time was measured"
    assert all(abs(sample - 0.2) < 1e-9 for sample in timings.samples), timings.samples


async def test_a_job_that_started_or_ended_with_a_slot_free_gives_no_slot_time(stage_settings: Settings) -> None:
    timings = TimingLog()
    dispatcher = Dispatcher(timings, ChangeFeed(), {}, stage_settings.replace(concurrency=2))  # type: ignore[arg-type]
    alone = finished_job("alone", 0.0)  # started with the other slot free
    dispatcher._active = {"alone": None, "other": None}  # type: ignore[misc]
    await dispatcher._measure_slot_time(alone, now=1.0)  # type: ignore[arg-type]
    last_of_burst = finished_job("last", 1.0)  # started full, but nothing else runs or waits when it ends
    dispatcher._started_full.add("last")
    dispatcher._active = {"last": None}  # type: ignore[misc]
    await dispatcher._measure_slot_time(last_of_burst, now=2.0)  # type: ignore[arg-type]
    assert timings.samples == []


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
