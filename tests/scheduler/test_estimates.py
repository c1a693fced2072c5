"""The wait estimate's model (pure) and the figures JobService feeds it: the jobs running now, counted fresh for
this process's own dispatcher even while the store's counts are cached."""

from __future__ import annotations

import pytest

from services.common.settings import Settings
from services.scheduler import core, estimates, jobs
from services.scheduler.feed import ChangeFeed
from services.scheduler.jobs import JobService
from services.scheduler.model import JobType, NoopInput, Principal, Timing
from services.scheduler.store.factory import open_store

NOW = 1_000_000.0


@pytest.mark.parametrize(
    ("position", "running", "workers", "expected"),
    [
        (0, 0, 1, 0.0),  # not queued
        (1, 0, 1, 0.0),  # a free worker: starts now
        (1, 1, 1, 5.0),  # waits for the running job, half done
        (2, 1, 1, 15.0),  # and one more full job
        (3, 0, 4, 0.0),  # enough workers for everyone
        (5, 4, 4, 11.25),  # five completions, 2.5 s apart with four workers, less half of one
        (1, 15, 16, 0.0),  # one slot of sixteen free
        (17, 0, 16, 0.625),  # sixteen start at once; the seventeenth waits for one of them, whole
    ],
)
def test_wait_estimate(position: int, running: int, workers: int, expected: float) -> None:
    assert estimates.wait_seconds(position, running, workers, 10.0) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("counted", "counted_here", "here_now", "expected"),
    [
        (0, 0, 16, 16),  # counted before a burst started: this process's sixteen run now
        (16, 16, 0, 0),  # counted mid-burst: all of them ended since
        (24, 16, 16, 24),  # another dispatcher's eight, as counted, and ours now
        (3, 8, 8, 8),  # a count older than ours cannot make the others' negative
    ],
)
def test_running_now_counts_this_process_fresh(counted: int, counted_here: int, here_now: int, expected: int) -> None:
    assert estimates.running_now(counted, counted_here, here_now) == expected


def timing(key: str, recent: float, samples: int) -> Timing:
    return Timing(key, recent, recent, samples, p50=recent, recent=recent)


def test_slot_time_prefers_measurements_under_load_then_job_durations_then_the_prior() -> None:
    course = JobType.COURSE_RECOMMENDATION
    slot = timing("slot:course_recommendation", 1.6, estimates.MIN_SLOT_SAMPLES)
    job = timing("job:course_recommendation", 0.3, 40)
    assert estimates.slot_seconds({slot.key: slot, job.key: job}, course, prior=2.0) == 1.6
    few = timing(slot.key, 1.6, estimates.MIN_SLOT_SAMPLES - 1)
    assert estimates.slot_seconds({few.key: few, job.key: job}, course, prior=2.0) == 0.3
    assert estimates.slot_seconds({}, course, prior=2.0) == 2.0
    assert estimates.slot_seconds({}, JobType.NOOP, prior=2.0) == estimates.DEFAULT_JOB_SECONDS[JobType.NOOP]


async def test_a_burst_is_estimated_behind_the_jobs_this_dispatcher_started_since_the_last_count(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's counts are read once (none running) and kept for the whole test; then four slots take four
    jobs, as the dispatcher's claim does. The next submits wait for them: with the count alone they were
    estimated to start at once."""
    monkeypatch.setattr(jobs, "STATS_MAX_AGE_SECONDS", 1e9)
    feed = ChangeFeed()
    store = open_store(settings, feed)
    running: list[str] = []
    try:
        for _ in range(estimates.MIN_SLOT_SAMPLES):
            await store.record_timing("slot:noop", 1.6, NOW)
        service = JobService(
            store, feed, settings, local_workers=lambda: 4, local_running=lambda: len(running), clock=lambda: NOW
        )
        dev = Principal("dev")

        async def submit() -> tuple[int, float]:
            view, _ = await service.submit(dev, core.Submission(type=JobType.NOOP, input=NoopInput()))
            return view.position, view.estimated_wait

        assert [await submit() for _ in range(4)] == [(1, 0.0), (2, 0.0), (3, 0.0), (4, 0.0)]
        claimed = await store.claim(worker="w", now=NOW, lease_seconds=60, limit=4, start=core.starter("w", NOW, 60))
        running.extend(job.id for job in claimed)
        # Completions come 1.6 / 4 s apart: one stands before the fifth, two before the sixth, less half of one
        # (the running jobs are half done on average).
        fifth, sixth = await submit(), await submit()
        assert fifth == (1, pytest.approx(0.5 * 0.4))
        assert sixth == (2, pytest.approx(1.5 * 0.4))
    finally:
        await store.close()


def test_without_load_samples_the_busiest_stage_service_sets_the_pace_of_a_full_house() -> None:
    course = JobType.COURSE_RECOMMENDATION
    job = timing("job:course_recommendation", 0.08, 40)
    # entity recognition and skill extraction both call the NER service: what they cost it adds up there
    ner = timing("service:ENTITY_RECOGNITION", 0.04, 40)
    extraction = timing("service:SKILL_EXTRACTION", 0.005, 40)
    similarity = timing("service:SIMILARITY_ANALYSIS", 0.004, 40)
    stage_with_waiting = timing("stage:ENTITY_RECOGNITION", 0.6, 40)  # the stage's own duration is not the pace
    found = {t.key: t for t in (job, ner, extraction, similarity, stage_with_waiting)}
    assert estimates.bottleneck_seconds(found, course) == pytest.approx(0.045)
    assert estimates.slot_seconds(found, course, prior=2.0, slots=16) == pytest.approx(0.72)
    # one slot: a job's own duration is the longer
    assert estimates.slot_seconds(found, course, prior=2.0, slots=1) == 0.08
    # measured under load, the slot time wins
    slot = timing("slot:course_recommendation", 1.1, estimates.MIN_SLOT_SAMPLES)
    assert estimates.slot_seconds({**found, slot.key: slot}, course, prior=2.0, slots=16) == 1.1
    assert estimates.bottleneck_seconds({}, JobType.NOOP) == 0.0
