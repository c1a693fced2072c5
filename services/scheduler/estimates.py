"""A queued job's wait estimate, as pure functions: the worker slots, the jobs running now, the job's place in the
queue (dispatch order: priority, fair round, submit order) and what one slot takes per job under the load of the
moment. No I/O: JobService gathers the figures and asks here."""

from __future__ import annotations

from collections.abc import Mapping

from services.scheduler.model import SERVICE_OF_STAGE, STAGES_BY_TYPE, JobType, Timing

# What a slot takes per job of a type before anything was measured, where the configured prior does not fit.
DEFAULT_JOB_SECONDS = {JobType.NOOP: 0.001}
# Slot times measured under load are trusted for estimates from this many samples on.
MIN_SLOT_SAMPLES = 5


def slot_seconds(timings: Mapping[str, Timing], job_type: JobType, prior: float, slots: int = 1) -> float:
    """What one worker slot takes per job of this type now: measured under load when there are enough samples (the
    recent duration of jobs that started and ended with every slot taken: Dispatcher._measure_slot_time); else,
    from what a job and its stages took lately, the larger of a job's recent median duration and what `slots` jobs
    queued at the busiest stage service take (see bottleneck_seconds); else the prior."""
    slot = timings.get(f"slot:{job_type.value}")
    if slot and slot.samples >= MIN_SLOT_SAMPLES:
        return slot.recent
    timing = timings.get(f"job:{job_type.value}")
    if timing and timing.samples:
        return max(timing.recent, bottleneck_seconds(timings, job_type) * max(slots, 1))
    return DEFAULT_JOB_SECONDS.get(job_type, prior)


def bottleneck_seconds(timings: Mapping[str, Timing], job_type: JobType) -> float:
    """What one job costs its busiest stage service: the recent median of what each stage's call cost its service
    ("service:<STAGE>", its wait behind other calls taken out: JobContext.stage), summed per service.

    With every slot busy the jobs wait in line at that service: the queue drains at one job per this many seconds,
    not at one per job duration over the slots. After a quiet spell of one job at a time, 84 jobs ahead drained in
    3.8 s where a job took 80 ms and entity recognition 45 ms of it: the job duration over 16 slots had said 0.4 s,
    the entity service says 3.8 s (tests/bench/ml_bench.py --estimate-only sequential)."""
    per_service: dict[str, float] = {}
    for stage in STAGES_BY_TYPE.get(job_type, ()):
        timing = timings.get(f"service:{stage.value}")
        if timing and timing.samples:
            service = SERVICE_OF_STAGE[stage]
            per_service[service] = per_service.get(service, 0.0) + timing.recent
    return max(per_service.values(), default=0.0)


def running_now(counted: int, counted_here: int, here_now: int) -> int:
    """The jobs running now across dispatchers: the others' as the store last counted them (a count a second old
    at most: counting on every submit would scan the jobs), and this process's own as they are this instant.
    A second-old count of this process's own jobs said none ran in the first second of a burst of submits, and
    every job of it was estimated a whole round of slots too early."""
    return max(counted - counted_here, 0) + here_now


def wait_seconds(position: int, running: int, workers: int, slot_seconds: float) -> float:
    """Seconds until a job at `position` starts.

    With W worker slots, R jobs running and the job P-th in line, P + R - 1 jobs start before it, so it needs
    P + R - W completions first (none when that is below 1). Slots complete jobs at W per slot time, and the
    running jobs are on average half done, which saves half a completion.
    """
    if position <= 0:
        return 0.0
    slots = max(workers, 1)
    completions = position - 1 + running - slots + 1
    if completions <= 0:
        return 0.0
    credit = 0.5 if running > 0 else 0.0
    return max(0.0, (completions - credit) * slot_seconds / slots)
