"""Scheduling policy as pure functions: tier limits, the submit-rate token bucket, and fair round-robin order.

Fair order: inside a priority level, each owner's jobs get consecutive "rounds", starting no earlier than the
round the dispatcher is serving now. Sorting by (priority desc, round, submit order) then serves owners in turn:
one owner's 1,000 queued jobs take rounds r..r+999, and another owner's job submitted later gets round r' (the
round being served), so it runs within the next few slots. A job's place never changes once it is assigned, so
positions stay exact: the count of queued jobs whose key sorts before it.
"""

from __future__ import annotations

import math

from services.common import errors
from services.scheduler.model import Bucket, Principal, Quota, order_key
from services.scheduler.settings import SchedulerSettings

__all__ = [
    "Bucket",
    "Quota",
    "assign_round",
    "check_priority",
    "order_key",
    "quota_exceeded",
    "quota_for",
    "take_token",
]


def quota_for(principal: Principal, settings: SchedulerSettings) -> Quota:
    """The limits of a caller's tier. Admins, and everyone when no keys are configured, are unlimited."""
    if principal.tier == "vip":
        return Quota(
            "vip",
            settings.vip_max_priority,
            settings.vip_max_queued,
            settings.vip_max_running,
            settings.vip_submit_rate,
            settings.vip_submit_burst,
        )
    if principal.tier == "standard":
        return Quota(
            "standard",
            settings.standard_max_priority,
            settings.standard_max_queued,
            settings.standard_max_running,
            settings.standard_submit_rate,
            settings.standard_submit_burst,
        )
    return Quota("admin", settings.max_priority, 0, 0, 0.0, 0)


def check_priority(priority: int, quota: Quota) -> None:
    if priority > quota.max_priority:
        raise errors.PermissionDenied(
            f"priority {priority} is above the {quota.tier} tier's maximum of {quota.max_priority}"
        )


def take_token(bucket: Bucket | None, quota: Quota, now: float) -> tuple[Bucket, float]:
    """Refills the bucket to `now` and takes one token. Returns the new state and 0.0, or the unchanged state
    and the seconds until a token is available when the bucket is empty."""
    if quota.submit_rate <= 0:
        return bucket or Bucket(0.0, now), 0.0
    burst = float(max(quota.submit_burst, 1))
    if bucket is None:
        bucket = Bucket(burst, now)
    tokens = min(burst, bucket.tokens + max(now - bucket.updated, 0.0) * quota.submit_rate)
    if tokens >= 1.0:
        return Bucket(tokens - 1.0, now), 0.0
    return Bucket(tokens, now), (1.0 - tokens) / quota.submit_rate


RATE_LIMITED = "RATE_LIMITED"
QUOTA_EXCEEDED = "QUOTA_EXCEEDED"


def quota_exceeded(
    owner: str, what: str, limit: float, retry_after: float, *, reason: str = QUOTA_EXCEEDED
) -> errors.ResourceExhausted:
    """The RESOURCE_EXHAUSTED error for an owner over a limit, with QuotaFailure and RetryInfo details. The words
    round the wait up to whole seconds, as the gateway's Retry-After header does ("retry in 0.0 s" read as now)."""
    return errors.ResourceExhausted(
        f"{owner} is over the {what} limit ({limit:g}); retry in {max(1, math.ceil(retry_after))} s",
        retry_after=retry_after,
        violations=[errors.QuotaViolation(subject=f"owner:{owner}", description=f"{what} limit {limit:g}")],
        reason=reason,
    )


def assign_round(serving: int, owner_last: int | None) -> int:
    """The fair-order round of an owner's new job: right after their previous one, never before the round
    being served now."""
    return serving if owner_last is None else max(serving, owner_last + 1)
