"""The dispatcher: claims jobs from the store, runs each job's handler under a lease, records the outcome.

One claim loop fills `concurrency` slots; a maintenance loop renews leases, re-queues jobs whose worker died,
sends the heartbeat that counts this dispatcher's slots, and sweeps expired results.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import statistics
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from services.common import tracing
from services.common.logs import job_id_var
from services.scheduler import admission, core, waits
from services.scheduler.feed import ChangeFeed
from services.scheduler.job_context import JobContext, JobHandler, ServiceOutage, StageFailed
from services.scheduler.metrics import SchedulerMetrics
from services.scheduler.model import EventKind, JobError, JobRecord, JobState, JobType, Stage
from services.scheduler.settings import SchedulerSettings
from services.scheduler.store.base import Change, JobStore

log = logging.getLogger(__name__)

__all__ = ["ClaimGate", "Dispatcher", "JobContext", "JobHandler", "ServiceOutage", "StageFailed"]


class ClaimGate(Protocol):
    """Says how many jobs the dispatcher may start now (the stage services' circuit breakers)."""

    def claimable(self, free: int) -> int: ...

    def started(self, jobs: int) -> None: ...

    def blocking(self) -> list[str]: ...


# At most one slot-time sample per this many seconds.
SLOT_SAMPLE_SECONDS = 0.25
# The claim loop settles scheduled and waiting jobs at most this often.
RELEASE_INTERVAL_SECONDS = 0.05


class Dispatcher:
    """Runs jobs from the store with up to `settings.concurrency` at a time."""

    def __init__(
        self,
        store: JobStore,
        feed: ChangeFeed,
        handlers: dict[JobType, JobHandler],
        settings: SchedulerSettings,
        *,
        clock: Callable[[], float] = time.time,
        worker_id: str | None = None,
        metrics: SchedulerMetrics | None = None,
        gate: ClaimGate | None = None,
    ) -> None:
        self._store, self._feed, self._handlers, self._settings = store, feed, handlers, settings
        self._clock = clock
        self._metrics = metrics
        self._gate = gate
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"
        self._active: dict[str, tuple[asyncio.Task[None], int]] = {}
        self._contexts: dict[str, JobContext] = {}
        # Stage calls in flight per service, across this dispatcher's jobs (JobContext.stage reads and keeps it).
        self._stage_calls: Counter[str] = Counter()
        self._slot_free = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False
        self._released_at = -1e9
        # Slot-time measurement (see _measure_slot_time): the running jobs that started with every slot taken, the
        # durations of those that also ended so since the last sample, when that sample was written, and whether
        # the last claim took every free slot (jobs may be waiting: a freed slot is refilled at once).
        self._started_full: set[str] = set()
        self._full_durations: list[float] = []
        self._slot_sampled_at = -1e9
        self._backlog = False

    @property
    def slots(self) -> int:
        return self._settings.concurrency

    @property
    def running(self) -> int:
        return len(self._active)

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def start(self) -> None:
        await self._store.heartbeat(self.worker_id, self.slots, self._clock())
        self._loops = [
            asyncio.create_task(self._claim_loop(), name="dispatcher-claim"),
            asyncio.create_task(self._maintenance_loop(), name="dispatcher-maintenance"),
        ]

    async def stop(self, grace: float) -> None:
        """Stops claiming, gives running jobs `grace` seconds, then hands the rest back to the queue. Jobs waiting
        for an unreachable stage service are handed back at once: they would only wait out the grace."""
        self._stopping = True
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        for job_id, ctx in list(self._contexts.items()):
            if ctx.waiting:
                self.abort(job_id)
        tasks = [task for task, _ in self._active.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        for task, _ in list(self._active.values()):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._store.heartbeat(self.worker_id, 0, self._clock())

    def abort(self, job_id: str) -> bool:
        """Stops the local attempt of a job (its in-flight stage RPC is cancelled with it)."""
        held = self._active.get(job_id)
        if held is None:
            return False
        if not held[0].cancelling():
            held[0].cancel()
        return True

    async def _release_due(self) -> None:
        """Moves due delayed jobs, and waiting jobs whose dependencies ended, along (rate-limited)."""
        if time.monotonic() - self._released_at < RELEASE_INTERVAL_SECONDS:
            return
        self._released_at = time.monotonic()
        try:
            now = self._clock()
            await self._store.release(now, admission.releaser(now, self._settings.result_ttl_seconds))
        except Exception:
            log.exception("releasing scheduled and waiting jobs failed; retrying")

    async def _claim_loop(self) -> None:
        with self._feed.subscribe(queue=True) as queue_moved:
            while not self._stopping:
                await self._release_due()
                free = self.slots - len(self._active)
                if free > 0:
                    allowed = free if self._gate is None else self._gate.claimable(free)
                    if allowed <= 0:
                        # A stage service is down: its jobs would only wait. The gate's changes wake this loop.
                        self._paused()
                        await queue_moved.wait(self._settings.poll_interval_seconds)
                        continue
                    now = self._clock()
                    try:
                        lease = self._settings.lease_seconds
                        jobs = await self._store.claim(
                            worker=self.worker_id,
                            now=now,
                            lease_seconds=lease,
                            limit=allowed,
                            start=core.starter(self.worker_id, now, lease),
                        )
                    except Exception:
                        log.exception("claim failed; retrying")
                        jobs = []
                    if self._gate is not None:
                        self._gate.started(len(jobs))
                    self._backlog = len(jobs) >= free
                    for job in jobs:
                        task = asyncio.create_task(self._run(job), name=f"job-{job.id}")
                        self._active[job.id] = (task, job.fence)
                    if jobs and len(self._active) >= self.slots:
                        self._started_full.update(job.id for job in jobs)
                    if jobs:
                        continue
                    await queue_moved.wait(self._settings.poll_interval_seconds)
                else:
                    self._slot_free.clear()
                    await self._slot_free.wait()

    def _paused(self) -> None:
        if self._metrics is not None and self._gate is not None:
            for service in self._gate.blocking():
                self._metrics.claims_paused.labels(service).inc()

    async def _guard(self, job: JobRecord, attempt: asyncio.Task[Any]) -> None:
        """Stops the attempt as soon as another process moves the job's fence (a cancel through another
        replica, relayed by a shared store) instead of at the next lease renewal. Own writes do not wake it."""
        with self._feed.subscribe(job.id, elsewhere_only=True) as changed:
            while (held := self._active.get(job.id)) is not None and held[0] is attempt:
                if not await changed.wait(self._settings.lease_seconds):
                    continue  # quiet: lease renewal checks the fence on its own period
                try:
                    current = await self._store.get(job.id)
                except Exception:
                    log.exception("job %s: could not re-read its fence; lease renewal will", job.id)
                    continue
                if current is None or current.fence != job.fence:
                    log.info("job %s: attempt %d superseded elsewhere; stopping it", job.id, job.attempt)
                    self.abort(job.id)
                    return

    async def _run(self, job: JobRecord) -> None:
        token = job_id_var.set(job.id)
        leave_trace = tracing.enter_trace(job.traceparent)  # stage calls continue the submitter's trace
        ctx = JobContext(
            self._store, job, self._clock, self._metrics, stopping=lambda: self._stopping, in_flight=self._stage_calls
        )
        self._contexts[job.id] = ctx
        attempt = asyncio.current_task()
        assert attempt is not None
        # Only a store that other processes write to can move the fence behind our back; the loop condition
        # ends the guard too (on 3.11 a cancel that races a wake-up can be swallowed).
        guard = asyncio.create_task(self._guard(job, attempt), name=f"guard-{job.id}") if self._store.shared else None
        try:
            handler = self._handlers.get(job.type)
            if handler is None:
                raise StageFailed(Stage.ENTITY_RECOGNITION, core.CODE_INTERNAL, f"no handler for {job.type.value}")
            result = await handler.run(job, ctx)
            now = self._clock()
            ttl = self._settings.result_ttl_seconds
            await self._store.transition(job.id, job.fence, ctx.then(lambda j: core.succeed(j, result, now, ttl)), now)
            if self._metrics is not None:
                self._metrics.job_finished(job, JobState.SUCCEEDED)
            await self._measure_slot_time(job, self._clock())  # the slot is free once the end is written
        except asyncio.CancelledError:
            await self._hand_back(job, "cancelled")
        except core.StaleAttempt:
            log.info("job %s attempt %d was superseded (cancelled or re-queued)", job.id, job.attempt)
        except StageFailed as exc:
            error = JobError(code=exc.code, message=exc.message, stage=exc.stage, reason=exc.reason)
            await self._fail(job, error)
        except ServiceOutage as exc:
            await self._outlasted(job, exc)
        except Exception as exc:
            log.exception("job %s failed with an unexpected error", job.id)
            await self._fail(job, JobError(code=core.CODE_INTERNAL, message=f"internal error: {type(exc).__name__}"))
        finally:
            if guard is not None:
                guard.cancel()
            self._active.pop(job.id, None)
            self._contexts.pop(job.id, None)
            self._started_full.discard(job.id)
            self._slot_free.set()
            leave_trace()
            job_id_var.reset(token)

    async def _measure_slot_time(self, job: JobRecord, now: float) -> None:
        """What one slot takes per job under load, contention included (the wait estimate's service time at
        depth): the duration of a job that started with every slot taken and ended with every slot taken (or jobs
        waiting), from its claim to its end written. A slot that is refilled at once does one such job after
        another. At most one sample per SLOT_SAMPLE_SECONDS is written, the median of the durations since the last
        (so a fast drain does not write a timing per job).

        The time between completions that both found every slot taken, times the slots, was measured here before.
        Jobs that start together end together, so completions come in bunches: a sample closed by time alone often
        held one long gap between two bunches over one completion. After a phase of 16 clients on 16 slots it wrote
        4 to 17 s per slot where a job took 1.5 s, and the next burst's estimates were 3.5 times its waits."""
        busy = len(self._active) >= self.slots or self._backlog
        if job.id not in self._started_full or not busy or job.start_time is None:
            return
        self._full_durations.append(max(now - job.start_time, 0.0))
        if now - self._slot_sampled_at < SLOT_SAMPLE_SECONDS:
            return
        per_slot = statistics.median(self._full_durations)
        self._full_durations.clear()
        self._slot_sampled_at = now
        try:
            await self._store.record_timing(f"slot:{job.type.value}", per_slot, now)
        except Exception:
            log.exception("could not record a slot time")

    def _after_stages(self, job: JobRecord, change: Change) -> Change:
        """`change` after the end of the job's last finished stage, if its context has not written that yet."""
        ctx = self._contexts.get(job.id)
        return ctx.then(change) if ctx is not None else change

    async def _fail(self, job: JobRecord, error: JobError) -> None:
        now = self._clock()
        ttl = self._settings.result_ttl_seconds
        with contextlib.suppress(core.StaleAttempt, core.JobAlreadyFinished):
            await self._store.transition(
                job.id, job.fence, self._after_stages(job, lambda j: core.fail(j, error, now, ttl)), now
            )
            if self._metrics is not None:
                self._metrics.job_finished(job, JobState.FAILED)

    async def _outlasted(self, job: JobRecord, outage: ServiceOutage) -> None:
        """The outage budget ran out: back to the queue for another attempt, or FAILED after the last one."""
        now = self._clock()
        ttl, attempts = self._settings.result_ttl_seconds, self._settings.max_attempts
        with contextlib.suppress(core.StaleAttempt, core.JobAlreadyFinished):
            events = await self._store.transition(
                job.id,
                job.fence,
                self._after_stages(
                    job,
                    lambda j: waits.outage_outlasted_budget(
                        j, outage.stage, outage.service, outage.cause, outage.budget, attempts, now, ttl
                    ),
                ),
                now,
            )
            failed = any(e.kind is EventKind.FAILED for e in events)
            log.warning("job %s: %s; %s", job.id, outage, "failed" if failed else "back to the queue")
            if failed and self._metrics is not None:
                self._metrics.job_finished(job, JobState.FAILED)

    async def _hand_back(self, job: JobRecord, why: str) -> None:
        """A cancelled task: either the job was cancelled (its fence moved, nothing to write) or we are
        stopping, in which case the job goes back to the queue for another worker."""
        if not self._stopping:
            return
        now = self._clock()
        with contextlib.suppress(core.StaleAttempt, core.JobAlreadyFinished):
            await self._store.transition(
                job.id,
                job.fence,
                lambda j: core.requeue(j, "worker shut down", self._settings.max_attempts + 1, now, 0.0),
                now,
            )
        log.info("job %s handed back to the queue (%s)", job.id, why)

    async def _maintenance_loop(self) -> None:
        interval = max(self._settings.lease_seconds / 3, 0.05)
        last_sweep = 0.0
        while not self._stopping:
            await asyncio.sleep(interval)  # a timer, not synchronisation: leases are renewed on a period
            try:
                await self.maintain()
                if time.monotonic() - last_sweep > self._settings.sweep_interval_seconds:
                    last_sweep = time.monotonic()
                    removed = await self._store.sweep(self._clock())
                    if removed:
                        log.info("swept %d expired jobs", removed)
            except Exception:
                log.exception("maintenance failed; will retry")

    async def maintain(self) -> None:
        """Renews our leases, stops attempts whose lease we lost, re-queues jobs whose lease ran out."""
        now = self._clock()
        held = {job_id: fence for job_id, (_, fence) in self._active.items()}
        if held:
            lost = await self._store.renew_leases(held, now + self._settings.lease_seconds)
            for job_id in lost:
                log.info("lost the lease of job %s; stopping its attempt", job_id)
                self.abort(job_id)
        await self._store.heartbeat(self.worker_id, self.slots, now)
        for job_id in await self._store.expired_leases(now):
            if job_id in self._active:
                continue
            requeued = await self._store.transition(job_id, None, self._expire(now), now)
            if requeued and self._metrics is not None:
                self._metrics.lease_expiries.inc()

    def _expire(self, now: float) -> Callable[[JobRecord], list[Any]]:
        def change(job: JobRecord) -> list[Any]:
            if job.state is not JobState.RUNNING or job.lease_until is None or job.lease_until >= now:
                return []  # renewed or finished in the meantime
            log.warning("job %s: lease of %s expired; re-queueing", job.id, job.lease_owner)
            return core.requeue(
                job, "lease expired", self._settings.max_attempts, now, self._settings.result_ttl_seconds
            )

        return change
