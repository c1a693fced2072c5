"""Unit tests of the scheduling policy: tiers, the token bucket, fair rounds, admission."""

from __future__ import annotations

import pytest

from services.common import errors
from services.common.settings import Settings
from services.scheduler import core, policy
from services.scheduler.model import EventKind, JobRecord, JobState, JobType, Principal

SETTINGS = Settings.from_env(environ={})


def quota(rate: float = 2.0, burst: int = 3) -> policy.Quota:
    return policy.Quota("standard", 4, 10, 2, rate, burst)


def test_tiers_map_to_their_limits() -> None:
    standard = policy.quota_for(Principal("a", tier="standard"), SETTINGS)
    vip = policy.quota_for(Principal("b", tier="vip"), SETTINGS)
    admin = policy.quota_for(Principal("c", admin=True, tier="admin"), SETTINGS)
    assert standard.max_priority < vip.max_priority < admin.max_priority == SETTINGS.max_priority
    assert admin.max_queued == admin.max_running == 0 and not admin.limited
    assert standard.limited and vip.submit_rate > standard.submit_rate


def test_priority_above_the_tier_cap_is_permission_denied() -> None:
    policy.check_priority(4, quota())
    with pytest.raises(errors.PermissionDenied, match="standard tier"):
        policy.check_priority(5, quota())


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    q = quota(rate=2.0, burst=3)
    bucket = None
    for _ in range(3):
        bucket, wait = policy.take_token(bucket, q, now=100.0)
        assert wait == 0.0
    bucket, wait = policy.take_token(bucket, q, now=100.0)
    assert wait == pytest.approx(0.5)
    bucket, wait = policy.take_token(bucket, q, now=100.5)  # half a second refills one token at 2/s
    assert wait == 0.0
    bucket, wait = policy.take_token(bucket, q, now=100.5)
    assert wait == pytest.approx(0.5)


def test_bucket_never_fills_past_its_burst() -> None:
    q = quota(rate=10.0, burst=2)
    bucket, _ = policy.take_token(None, q, now=0.0)
    bucket, _ = policy.take_token(bucket, q, now=1000.0)
    assert bucket.tokens == pytest.approx(1.0)


def test_rounds_serve_owners_in_turn() -> None:
    assert policy.assign_round(serving=0, owner_last=None) == 0
    assert policy.assign_round(serving=0, owner_last=4) == 5
    assert policy.assign_round(serving=9, owner_last=4) == 9  # an owner coming back starts at the current round


def test_order_keys_sort_in_dispatch_order() -> None:
    keys = [
        policy.order_key(priority=5, fair_round=3, queue_seq=9),
        policy.order_key(priority=0, fair_round=0, queue_seq=1),
        policy.order_key(priority=0, fair_round=0, queue_seq=2),
        policy.order_key(priority=0, fair_round=1, queue_seq=0),
    ]
    assert sorted(keys) == keys


def job(**kwargs: object) -> JobRecord:
    record, _ = core.new_job(core.Submission(JobType.NOOP, None), "alice", now=100.0)
    for key, value in kwargs.items():
        setattr(record, key, value)
    return record


def test_admit_schedules_then_waits_then_queues() -> None:
    dep = job(state=JobState.RUNNING)
    delayed = job(not_before=150.0, depends_on=[dep.id])
    events = core.admit(delayed, {dep.id: dep}, now=100.0, ttl=60)
    assert delayed.state is JobState.SCHEDULED and events[0].kind is EventKind.SCHEDULED
    events = core.admit(delayed, {dep.id: dep}, now=150.0, ttl=60)
    assert delayed.state is JobState.WAITING and events[0].kind is EventKind.WAITING
    assert core.admit(delayed, {dep.id: dep}, now=151.0, ttl=60) == []  # still waiting: nothing new to say
    dep.state = JobState.SUCCEEDED
    assert core.admit(delayed, {dep.id: dep}, now=152.0, ttl=60) == []
    assert delayed.state is JobState.QUEUED


def test_admit_cancels_when_a_dependency_failed() -> None:
    dep = job(state=JobState.FAILED)
    waiting = job(state=JobState.WAITING, depends_on=[dep.id])
    events = core.admit(waiting, {dep.id: dep}, now=100.0, ttl=60)
    assert waiting.state is JobState.CANCELLED
    assert events[-1].kind is EventKind.CANCELLED and dep.id in events[-1].data["reason"]


def test_dependencies_must_exist_and_belong_to_the_owner() -> None:
    mine = job()
    theirs = job(owner="bob")
    new = job(depends_on=[mine.id, theirs.id, "nope"])
    with pytest.raises(errors.InvalidArgument) as caught:
        core.check_dependencies(new, {mine.id: mine, theirs.id: theirs, "nope": None})
    assert [v.field for v in caught.value.violations] == ["depends_on[1]", "depends_on[2]"]
    failed = job(state=JobState.CANCELLED)
    with pytest.raises(errors.FailedPrecondition):
        core.check_dependencies(job(depends_on=[failed.id]), {failed.id: failed})


@pytest.mark.parametrize(
    ("sub", "field"),
    [
        (core.Submission(JobType.NOOP, None, delay=-1.0), "delay"),
        (core.Submission(JobType.NOOP, None, delay=1.0, not_before=200.0), "delay"),
        (core.Submission(JobType.NOOP, None, depends_on=("a", "a")), "depends_on[1]"),
        (core.Submission(JobType.NOOP, None, depends_on=("",)), "depends_on[0]"),
        (core.Submission(JobType.RANK_ANALYSES, {}), "depends_on"),
    ],
)
def test_bad_schedule_fields(sub: core.Submission, field: str) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        core.validate_submission(sub, core.Limits(max_text_bytes=100, max_priority=9))
    assert field in [v.field for v in caught.value.violations]
