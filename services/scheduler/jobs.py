"""JobService: submit, get, watch, cancel, list and queue status, over a JobStore. No grpc here: the
servicer converts, this decides."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable, Collection
from functools import partial

from services.common import errors, tracing
from services.scheduler import admission, core, estimates, policy, versions, watching
from services.scheduler.feed import ChangeFeed
from services.scheduler.model import (
    Admission,
    AdmissionSnapshot,
    CourseInput,
    JobEvent,
    JobRecord,
    JobState,
    JobType,
    JobView,
    NewEvent,
    Principal,
    QueueCounts,
    QueueStatus,
    Quota,
    StageServiceView,
    Timing,
)
from services.scheduler.settings import SchedulerSettings
from services.scheduler.store.base import AdmissionRequestKeys, JobStore
from services.scheduler.versions import ResultVersions

log = logging.getLogger(__name__)

# How fresh the cached queue counts and timings used for wait estimates must be.
STATS_MAX_AGE_SECONDS = 1.0


# The most jobs one SubmitJobs call may carry.
MAX_BATCH = 1000


def _in_batch(exc: errors.InvalidArgument, index: int) -> errors.InvalidArgument:
    """The same violations, each field named as requests[index].field."""
    bad = [errors.FieldViolation(f"requests[{index}].{v.field}", v.description) for v in exc.violations]
    return errors.InvalidArgument("; ".join(f"{v.field} {v.description}" for v in bad) or exc.message, bad)


class _Admitting:
    """One submit on its way into the store: the core's decision, with the position the store counted."""

    def __init__(self, request: admission.AdmissionRequest, keys: AdmissionRequestKeys, index: int | None) -> None:
        self.request, self.keys, self.index = request, keys, index
        self.position: int | None = None
        self.estimated_wait = 0.0
        self.checked = False  # the checks that need no store passed (the decision need not repeat them)

    def decide_checks(self) -> None:
        """The checks that need no store read, with batch field names."""
        try:
            admission.validate(self.request)
            self.checked = True
        except errors.InvalidArgument as exc:
            raise exc if self.index is None else _in_batch(exc, self.index) from exc
        except errors.PermissionDenied as exc:
            if self.index is None:
                raise
            raise errors.InvalidArgument.for_field(f"requests[{self.index}].priority", exc.message) from exc

    def decide(self, snapshot: AdmissionSnapshot) -> Admission:
        try:
            decided = admission.decide(self.request, snapshot, checked=self.checked)
        except errors.InvalidArgument as exc:
            if self.index is None:
                raise
            raise _in_batch(exc, self.index) from exc
        build = decided.queued_event
        if build is not None:

            def queued_event(position: int) -> NewEvent:
                event = build(position)
                self.position, self.estimated_wait = position, float(event.data["estimated_wait"])
                return event

            decided.queued_event = queued_event
        return decided


class JobService:
    """The scheduler's API in domain terms."""

    def __init__(
        self,
        store: JobStore,
        feed: ChangeFeed,
        settings: SchedulerSettings,
        *,
        local_workers: Callable[[], int] = lambda: 0,
        local_running: Callable[[], int] = lambda: 0,
        on_cancel: Callable[[str], object] = lambda job_id: None,
        on_submit: Callable[[JobRecord], object] = lambda job: None,
        clock: Callable[[], float] = time.time,
        versions: ResultVersions | None = None,
        stage_services: Callable[[], list[StageServiceView]] = list,
    ) -> None:
        self._store = store
        self._feed = feed
        self._settings = settings
        self._local_workers = local_workers
        self._local_running = local_running
        self._on_cancel = on_cancel
        self._on_submit = on_submit
        self._clock = clock
        self._versions = versions
        self._stage_services = stage_services
        self._closing = False  # shutting down: open watch streams end with UNAVAILABLE
        self._limits = core.Limits(max_text_bytes=settings.max_text_bytes, max_priority=settings.max_priority)
        self._stats_at = -1e9
        self._counts = QueueCounts()
        self._counted_here = 0  # this process's running jobs when the store last counted them
        self._stats_lock = asyncio.Lock()
        self._timings: dict[str, Timing] = {}
        # mean_job_seconds of each type, worked out from the timings above (emptied when they are read again).
        self._slot_seconds: dict[JobType, float] = {}
        self._watcher = watching.JobWatcher(store, feed, self.view, lambda: self._closing)

    def close_streams(self) -> None:
        """The process is shutting down: every open watch ends now with UNAVAILABLE, which tells its client to
        reconnect (to another replica) and resume after the last sequence it saw."""
        self._closing = True
        self._feed.everything_changed()

    # --- estimates ---------------------------------------------------------------------------------------

    async def _refresh_stats(self) -> None:
        if time.monotonic() - self._stats_at <= STATS_MAX_AGE_SECONDS:
            return
        # One refresh for all who found the figures stale at once: a thousand queued jobs' watchers would
        # otherwise each count the whole queue in the same instant, every second.
        async with self._stats_lock:
            now = time.monotonic()
            if now - self._stats_at > STATS_MAX_AGE_SECONDS:
                self._counts = await self._store.counts(self._clock())
                self._counted_here = self._local_running()
                self._timings, self._slot_seconds = await self._store.timings(), {}
                self._stats_at = now

    def _workers(self) -> int:
        return max(self._counts.workers, self._local_workers(), 1)

    def mean_job_seconds(self, job_type: JobType) -> float:
        """What one worker slot takes per job of this type now (see estimates.slot_seconds). Worked out once per
        type for each reading of the timings, not again for every job of a batch."""
        found = self._slot_seconds.get(job_type)
        if found is None:
            found = estimates.slot_seconds(self._timings, job_type, self._settings.default_job_seconds, self._workers())
            self._slot_seconds[job_type] = found
        return found

    def _estimate(self, job_type: JobType, position: int) -> float:
        counted = self._counts.by_state.get(JobState.RUNNING, 0)
        running = estimates.running_now(counted, self._counted_here, self._local_running())
        return estimates.wait_seconds(position, running, self._workers(), self.mean_job_seconds(job_type))

    async def view(self, job: JobRecord) -> JobView:
        if job.state is JobState.SCHEDULED and job.not_before is not None:
            # Its wait: until not_before, then behind whoever is queued by then (estimated as now).
            await self._refresh_stats()
            queued = self._counts.by_state.get(JobState.QUEUED, 0)
            delay = max(job.not_before - self._clock(), 0.0)
            return JobView(job, 0, delay + self._estimate(job.type, queued + 1))
        if job.state is not JobState.QUEUED:
            return JobView(job)
        await self._refresh_stats()
        position = await self._store.position(job)
        return JobView(job, position, self._estimate(job.type, position))

    # --- API ---------------------------------------------------------------------------------------------

    def _with_cache_key(self, sub: core.Submission) -> core.Submission:
        """An analysis gets the key of its result in the cache (its inputs with the model and data versions)."""
        given = sub.input
        if sub.type is not JobType.COURSE_RECOMMENDATION or not isinstance(given, CourseInput) or not self._versions:
            return sub
        fingerprint = self._versions.fingerprint()
        key = versions.cache_key(given.resume_text, given.job_description_text, given.threshold, fingerprint)
        return dataclasses.replace(sub, cache_key=key)

    def _admission(
        self,
        principal: Principal,
        sub: core.Submission,
        quota: Quota,
        batch_index: int | None = None,
        traceparent: str = "",
    ) -> _Admitting:
        sub = self._with_cache_key(sub)
        request = admission.AdmissionRequest(
            submission=sub,
            owner=principal.owner,
            now=self._clock(),
            limits=self._limits,
            max_queue_depth=self._settings.max_queue_depth,
            quota=quota,
            traceparent=traceparent or self._traceparent(),
            wait=lambda position: self._estimate(sub.type or JobType.NOOP, position),
            result_ttl=self._settings.result_ttl_seconds,
        )
        lookup = "" if sub.skip_cache else sub.cache_key
        keys = AdmissionRequestKeys(
            principal.owner,
            sub.priority,
            sub.request_id,
            sub.depends_on,
            lookup,
            count_pending=quota.max_queued > 0,
            read_bucket=quota.submit_rate > 0,
        )
        return _Admitting(request, keys, batch_index)

    @staticmethod
    def _traceparent() -> str:
        # The SubmitJob span (services.common.interceptors) is the parent of every stage call of the job.
        return tracing.current_traceparent() or tracing.TraceContext.new_root().traceparent

    async def _answer(self, stored: JobRecord, created: bool, admitting: _Admitting, recount: bool = False) -> JobView:
        if created:
            self._on_submit(stored)
        if recount or not created or admitting.position is None or stored.state is not JobState.QUEUED:
            return await self.view(stored)
        # The position counted when the job was written, and the wait its queued event carries, are the
        # answer: no second count or estimate.
        return JobView(stored, admitting.position, admitting.estimated_wait)

    async def submit(self, principal: Principal, sub: core.Submission) -> tuple[JobView, bool]:
        """Validates and stores a job; returns its view and False when request_id matched an earlier job."""
        admitting = self._admission(principal, sub, policy.quota_for(principal, self._settings))
        admitting.decide_checks()  # bad input is refused before any read
        await self._refresh_stats()
        stored, created = await self._store.admit(admitting.keys, admitting.decide)
        return await self._answer(stored, created, admitting), created

    async def submit_many(self, principal: Principal, subs: list[core.Submission]) -> list[tuple[JobView, bool]]:
        """Validates and stores many jobs in one transaction: all of them, or none. Violations name the job
        as requests[i]."""
        if not subs:
            raise errors.InvalidArgument.for_field("requests", "must not be empty")
        if len(subs) > MAX_BATCH:
            raise errors.InvalidArgument.for_field("requests", f"at most {MAX_BATCH} jobs in one batch")
        quota = policy.quota_for(principal, self._settings)
        traceparent = self._traceparent()  # one SubmitJobs span: every job of the batch continues it
        batch = [self._admission(principal, sub, quota, i, traceparent) for i, sub in enumerate(subs)]
        bad: list[errors.FieldViolation] = []
        for admitting in batch:
            try:
                admitting.decide_checks()
            except errors.InvalidArgument as exc:
                bad.extend(exc.violations)
        if bad:
            raise errors.InvalidArgument("; ".join(f"{v.field} {v.description}" for v in bad), bad)
        await self._refresh_stats()
        done = await self._store.admit_many([(a.keys, a.decide) for a in batch])
        # A later job of higher priority moves the earlier ones back: then each position is counted again.
        recount = len({sub.priority for sub in subs}) > 1
        return [
            (await self._answer(job, created, a, recount), created)
            for (job, created), a in zip(done, batch, strict=True)
        ]

    async def _visible(self, principal: Principal, job_id: str) -> JobRecord:
        job = await self._store.get(job_id) if job_id else None
        if job is None or (job.owner != principal.owner and not principal.admin):
            # Someone else's job answers exactly like a missing one: ids leak nothing.
            raise core.JobNotFound(job_id)
        return job

    async def get(self, principal: Principal, job_id: str) -> JobView:
        return await self.view(await self._visible(principal, job_id))

    async def cancel(self, principal: Principal, job_id: str, reason: str) -> JobView:
        job = await self._visible(principal, job_id)
        if job.state.terminal:
            raise core.JobAlreadyFinished(f"job {job_id} already ended {job.state.value}")
        now = self._clock()
        text = reason or f"cancelled by {principal.owner}"
        await self._store.transition(
            job_id, None, lambda j: core.cancel(j, text, now, self._settings.result_ttl_seconds), now
        )
        # The store moved the fence, so the worker's further writes fail; stopping its task also cancels the
        # in-flight stage RPC right away instead of at its next write.
        self._on_cancel(job_id)
        # Jobs waiting on it are cancelled.
        await self._store.release(now, admission.releaser(now, self._settings.result_ttl_seconds))
        log.info("job %s cancelled: %s", job_id, text)
        return await self.get(principal, job_id)

    async def list(
        self, principal: Principal, states: Collection[JobState], page_size: int, page_token: str
    ) -> tuple[list[JobView], str]:
        size = 50 if page_size <= 0 else min(page_size, 500)
        owner = None if principal.admin else principal.owner
        jobs = await self._store.list_jobs(owner=owner, states=states, limit=size + 1, before_id=page_token or None)
        more = len(jobs) > size
        jobs = jobs[:size]
        views = [await self.view(j) for j in jobs]
        return views, (jobs[-1].id if more and jobs else "")

    def watch(
        self, principal: Principal, job_id: str, after_sequence: int, *, first: JobView | None = None
    ) -> AsyncIterator[JobView | JobEvent]:
        """A snapshot, then every event after `after_sequence` in order, live; ends after the terminal event.
        While the job is queued, a fresh snapshot follows whenever its position changes. `first` is a snapshot
        the caller already has and sent (a submit's answer): the stream goes on from it. The caller iterates the
        follow itself, not a generator around it: with a thousand streams in one burst, each message passing
        through one more generator made the fan-out's p99 25-80 ms longer (paired runs)."""
        return self._watcher.follow(job_id, after_sequence, first, partial(self._first_view, principal, job_id))

    async def _first_view(self, principal: Principal, job_id: str) -> JobView:
        return await self.view(await self._visible(principal, job_id))

    async def queue_status(self, principal: Principal) -> QueueStatus:
        self._stats_at = -1e9
        await self._refresh_stats()
        return QueueStatus(
            counts=self._counts,
            timings=self._timings,
            workers=self._workers(),
            healthy=True,
            max_queue_depth=self._settings.max_queue_depth,
            owner=principal.owner,
            quota=policy.quota_for(principal, self._settings),
            usage=await self._store.owner_usage(principal.owner),
            stage_services=self._stage_services(),
        )

    async def wait_until_done(self, principal: Principal, job_id: str, within: float) -> JobView:
        """Waits up to `within` seconds for the job to end; returns its latest view either way."""
        deadline = time.monotonic() + max(within, 0.0)
        with self._feed.subscribe(job_id) as sub:
            while True:
                job = await self._visible(principal, job_id)
                left = deadline - time.monotonic()
                if job.state.terminal or left <= 0 or self._closing:
                    return await self.view(job)
                await sub.wait(min(left, watching.WATCH_POLL_SECONDS))
