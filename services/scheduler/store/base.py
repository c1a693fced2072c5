"""The JobStore Protocol: what the scheduler needs from durable storage, whatever the backend."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Protocol

from services.scheduler.model import (
    Admission,
    AdmissionSnapshot,
    JobEvent,
    JobRecord,
    JobState,
    NewEvent,
    OwnerUsage,
    QueueCounts,
    Timing,
)

Change = Callable[[JobRecord], list[NewEvent]]
# A store's admission and release take the decision as a function of what they read (admission.decide and
# admission.decide_release, bound to a request): the store reads, the core decides, the store applies.
Decide = Callable[[AdmissionSnapshot], Admission]
DecideRelease = Callable[[JobRecord, AdmissionSnapshot], Admission]

__all__ = ["AdmissionRequestKeys", "Change", "Decide", "DecideRelease", "JobStore", "OwnerUsage", "timing_of"]

# Every store keeps the latest this many durations per key, and counts a dispatcher alive this long after its
# last heartbeat.
TIMING_SAMPLES = 500
# How many of the newest samples say what a job takes now.
RECENT_SAMPLES = 50
WORKER_TTL_SECONDS = 30.0


@dataclass  # not frozen: built for every job of a batch submit (see model.py's docstring)
class AdmissionRequestKeys:
    """What a submit's snapshot is read for: the owner, the priority level, the request id, the dependencies."""

    owner: str
    priority: int
    request_id: str = ""
    depends_on: tuple[str, ...] = ()
    # The result cache key to look up among the owner's finished jobs ("" for none).
    cache_key: str = ""
    # Whether the decision needs the owner's count of waiting jobs (only a max_queued quota does; a store
    # that must scan to count skips it otherwise).
    count_pending: bool = True
    # Whether the decision needs the owner's submit-rate bucket (only a quota with a submit rate does).
    read_bucket: bool = True


class JobStore(Protocol):
    """Durable jobs and their events. Every method is atomic: it happens whole or not at all.

    Writers that hold an attempt pass its fencing token; a write with a stale token raises
    core.StaleAttempt and changes nothing.
    """

    # True when other processes may write the same jobs (and their changes are relayed to this one's feed).
    shared: bool

    async def open(self) -> None:
        """Connects what needs a running event loop (called once, before serving)."""
        ...

    async def admit(self, request: AdmissionRequestKeys, decide: Decide) -> tuple[JobRecord, bool]:
        """Reads the snapshot `request` names, calls `decide` on it and applies the Admission atomically,
        re-reading and re-deciding when what it read changed before the write. Returns (the stored job, True), or
        (the earlier job, False) when the owner already submitted this request_id. Whatever `decide` raises
        propagates, and nothing is stored."""
        ...

    async def admit_many(self, requests: list[tuple[AdmissionRequestKeys, Decide]]) -> list[tuple[JobRecord, bool]]:
        """admit() for many submits of one owner in one transaction, in order, each decision seeing the ones
        before it: all are stored, or (when any decision raises) none."""
        ...

    async def get(self, job_id: str) -> JobRecord | None: ...

    async def list_jobs(
        self, *, owner: str | None, states: Collection[JobState], limit: int, before_id: str | None
    ) -> list[JobRecord]:
        """Jobs newest first (ids are time-ordered), optionally of one owner and in some states."""
        ...

    async def events(self, job_id: str, after_sequence: int, limit: int = 1000) -> list[JobEvent]: ...

    async def position(self, job: JobRecord) -> int:
        """1-based place of a QUEUED job in the order the dispatcher will take jobs; 0 otherwise."""
        ...

    async def claim(
        self, *, worker: str, now: float, lease_seconds: float, limit: int, start: Change
    ) -> list[JobRecord]:
        """Moves up to `limit` jobs from the head of the queue (priority desc, fair round, submit order) to
        RUNNING under a lease held by `worker` until now + lease_seconds, passing over owners at their
        max_running; `start` (core.starter) is the change that starts each attempt."""
        ...

    async def release(self, now: float, decide: DecideRelease) -> int:
        """Offers `decide` each SCHEDULED job due at `now` and each WAITING job whose dependencies all ended,
        and applies what it decides as admit() does; returns how many jobs changed state."""
        ...

    async def owner_usage(self, owner: str) -> OwnerUsage: ...

    async def transition(self, job_id: str, fence: int | None, change: Change, now: float) -> list[JobEvent]:
        """Applies `change` to the job and appends the events it returns, atomically.
        fence=None skips the fencing check (cancel, lease expiry)."""
        ...

    async def renew_leases(self, held: dict[str, int], until: float) -> set[str]:
        """Extends the leases of held jobs (id -> fence); returns the ids whose lease is no longer theirs."""
        ...

    async def expired_leases(self, now: float) -> list[str]:
        """Ids of RUNNING jobs whose lease ran out before `now`."""
        ...

    async def sweep(self, now: float) -> int:
        """Deletes finished jobs (and their events) whose expire_time has passed; returns how many."""
        ...

    async def counts(self, now: float) -> QueueCounts: ...

    async def timings(self) -> dict[str, Timing]:
        """Measured durations by key: "job:<type>" and "stage:<STAGE>"."""
        ...

    async def record_timing(self, key: str, seconds: float, now: float) -> None:
        """Keeps one more measured duration under `key` (the latest TIMING_SAMPLES are kept)."""
        ...

    async def heartbeat(self, worker: str, slots: int, now: float) -> None:
        """Records that a dispatcher with `slots` worker slots is alive."""
        ...

    async def close(self) -> None: ...


def timing_of(key: str, samples: list[float]) -> Timing:
    """Mean, median and 95th percentile of samples (newest first)."""
    if not samples:
        return Timing(key, 0.0, 0.0, 0)
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    recent = statistics.median(samples[:RECENT_SAMPLES])
    return Timing(key, statistics.fmean(samples), p95, len(samples), p50=statistics.median(ordered), recent=recent)
