"""A queued job's wait estimate, as pure functions: the worker slots, the jobs running now, the job's place in the
queue (dispatch order: priority, fair round, submit order) and what one slot takes per job under the load of the
moment. No I/O: JobService gathers the figures and asks here."""

from __future__ import annotations

from collections.abc import Mapping

from services.scheduler.model import JobType, Timing

# What a slot takes per job of a type before anything was measured, where the configured prior does not fit.
DEFAULT_JOB_SECONDS = {JobType.NOOP: 0.001}
# Slot times measured under load are trusted for estimates from this many samples on.
MIN_SLOT_SAMPLES = 5


def slot_seconds(timings: Mapping[str, Timing], job_type: JobType, prior: float) -> float:
    """What one worker slot takes per job of this type now: measured under load when there are enough samples
    (the dispatcher's recent time between completions while every slot was busy, times the slots), else the
    recent median duration of a job (which includes the contention it ran under), else the prior."""
    slot = timings.get(f"slot:{job_type.value}")
    if slot and slot.samples >= MIN_SLOT_SAMPLES:
        return slot.recent
    timing = timings.get(f"job:{job_type.value}")
    if timing and timing.samples:
        return timing.recent
    return DEFAULT_JOB_SECONDS.get(job_type, prior)


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
