"""Admission: the one place that decides what a submit or a release does, as pure functions of what the store
read. Part of the pure core, with core.py and policy.py: no I/O, no grpc.

A store reads an AdmissionSnapshot, calls the decision function it was handed, and applies the Admission as a
whole: under its write lock (SQLite), or as a compare-and-set on what the decision read, re-reading and
re-deciding on conflict (Redis, where several replicas write). Every rule (validation, tier and priority,
dependencies, quotas and rate, depth, fair round, the events) is written here once for both stores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.scheduler import core, idempotency, policy
from services.scheduler.model import (
    Admission,
    AdmissionGuard,
    AdmissionSnapshot,
    EventKind,
    JobRecord,
    JobState,
    NewEvent,
    Quota,
)

UNLIMITED = Quota("admin", 99, 0, 0, 0.0, 0)
# What a full queue or an owner at max_queued is told to wait before trying again.
RETRY_FULL_SECONDS = 5.0


@dataclass  # not frozen: built for every job of a batch submit (see model.py's docstring)
class AdmissionRequest:
    """Everything about a submit that is known before the store is read."""

    submission: core.Submission
    owner: str
    now: float
    limits: core.Limits
    max_queue_depth: int
    quota: Quota = UNLIMITED
    # The W3C traceparent the job's stage calls continue.
    traceparent: str = ""
    # The wait estimate for a queue position, in seconds (the queued event carries it).
    wait: Callable[[int], float] = lambda position: 0.0
    # How long a finished job is kept (a job answered from the cache finishes at once).
    result_ttl: float = 24 * 3600.0


def validate(request: AdmissionRequest) -> None:
    """The checks that need no store: field violations, then the tier's priority cap."""
    core.validate_submission(request.submission, request.limits)
    policy.check_priority(request.submission.priority, request.quota)


def decide(request: AdmissionRequest, snapshot: AdmissionSnapshot, *, checked: bool = False) -> Admission:
    """Decides a submit against what the store read. Raises the error the caller gets (InvalidArgument,
    PermissionDenied, FailedPrecondition, ResourceExhausted, QueueFull); then nothing is written. `checked`: the
    caller already ran validate() on this request (it reads nothing that changes, so once is enough)."""
    if not checked:
        validate(request)
    if snapshot.existing is not None:
        # A repeated request_id: the earlier job is the answer when the body is the same, else a refusal.
        idempotency.check_reuse(snapshot.existing, request.submission)
        return Admission(None, snapshot)
    quota, now = request.quota, request.now
    job = core.new_record(request.submission, request.owner, now)
    if job.request_id:
        job.request_digest = idempotency.digest(request.submission)
    job.max_running = quota.max_running
    job.traceparent = request.traceparent
    core.check_dependencies(job, snapshot.dependencies)
    # A submit answered from the cache is still a submit: it takes a token of the owner's rate like any other
    # (it never waits in the queue, so the queued-jobs quota does not apply to it).
    bucket = None
    if quota.submit_rate:
        bucket, wait = policy.take_token(snapshot.bucket, quota, now)
        if wait:
            raise policy.quota_exceeded(
                job.owner, "submits per second", quota.submit_rate, retry_after=wait, reason=policy.RATE_LIMITED
            )
    cached = snapshot.cached
    if cached is not None and not request.submission.skip_cache and _reusable(job, cached):
        reused = core.reuse(job, cached, now, request.result_ttl)
        return Admission(job, snapshot, reused, bucket=bucket, guard=AdmissionGuard(bucket=bucket is not None))
    pending_at_most: int | None = None
    if quota.max_queued:
        if snapshot.pending >= quota.max_queued:
            raise policy.quota_exceeded(job.owner, "queued jobs", quota.max_queued, retry_after=RETRY_FULL_SECONDS)
        pending_at_most = snapshot.pending
    events = core.admit(job, snapshot.dependencies, now, 0.0)
    if job.state is not JobState.QUEUED:
        guard = AdmissionGuard(pending_at_most=pending_at_most, bucket=bucket is not None)
        return Admission(job, snapshot, events, bucket=bucket, guard=guard)
    if snapshot.depth >= request.max_queue_depth:
        raise core.QueueFull(f"the queue is full ({snapshot.depth} jobs); try again later", retry_after=5.0)
    job.fair_round = policy.assign_round(snapshot.serving_round, snapshot.owner_round)

    def queued_event(position: int) -> NewEvent:
        return NewEvent(EventKind.QUEUED, {"position": position, "estimated_wait": request.wait(position)})

    guard = AdmissionGuard(
        pending_at_most=pending_at_most, depth_at_most=snapshot.depth, bucket=bucket is not None, owner_round=True
    )
    return Admission(job, snapshot, events, queued_event, bucket, guard)


def _reusable(job: JobRecord, cached: JobRecord) -> bool:
    """A finished analysis of the same owner, inputs and versions, with no schedule of its own to keep."""
    return (
        cached.state is JobState.SUCCEEDED
        and cached.owner == job.owner
        and bool(job.cache_key)
        and cached.cache_key == job.cache_key
        and job.not_before is None
        and not job.depends_on
    )


def decide_release(job: JobRecord, snapshot: AdmissionSnapshot, now: float, ttl: float) -> Admission:
    """Decides where a SCHEDULED or WAITING job goes now: on to WAITING, into the queue (with its fair round),
    CANCELLED when a dependency failed, or nowhere yet (an Admission without a job: nothing to write)."""
    before = job.state
    if before not in (JobState.SCHEDULED, JobState.WAITING):
        return Admission(None, AdmissionSnapshot())
    if before is JobState.WAITING and any(
        d is not None and not d.state.terminal for d in snapshot.dependencies.values()
    ):
        return Admission(None, AdmissionSnapshot())
    events = core.admit(job, snapshot.dependencies, now, ttl)
    if job.state is JobState.QUEUED:
        job.fair_round = policy.assign_round(snapshot.serving_round, snapshot.owner_round)
        reason = "not_before reached" if before is JobState.SCHEDULED else "dependencies succeeded"
        return Admission(
            job,
            snapshot,
            events,
            lambda position: core.released_event(reason, position),
            guard=AdmissionGuard(owner_round=True),
        )
    if job.state is before and not events:
        return Admission(None, AdmissionSnapshot())
    return Admission(job, snapshot, events)


def releaser(now: float, ttl: float) -> Callable[[JobRecord, AdmissionSnapshot], Admission]:
    """The release decision at `now`, as the store's release() takes it."""
    return lambda job, snapshot: decide_release(job, snapshot, now, ttl)
