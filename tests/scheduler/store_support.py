"""Submitting straight to a store, as JobService does: the core decides, the store applies."""

from __future__ import annotations

from services.scheduler import admission, core
from services.scheduler.model import JobRecord, Quota
from services.scheduler.store.base import AdmissionRequestKeys, JobStore

LIMITS = core.Limits(max_text_bytes=200_000, max_priority=9)


async def create(
    store: JobStore,
    sub: core.Submission,
    owner: str,
    at: float,
    *,
    max_queue_depth: int = 100,
    quota: Quota | None = None,
    lookup: bool = False,
) -> tuple[JobRecord, bool]:
    """Admits `sub` for `owner` at time `at`; returns (the job, True) or (the earlier one, False). With
    `lookup`, the result cache is asked for sub.cache_key."""
    request = admission.AdmissionRequest(
        sub, owner, at, LIMITS, max_queue_depth, quota or admission.UNLIMITED, wait=lambda position: 0.0
    )
    keys = AdmissionRequestKeys(owner, sub.priority, sub.request_id, sub.depends_on, sub.cache_key if lookup else "")
    return await store.admit(keys, lambda snapshot: admission.decide(request, snapshot))
