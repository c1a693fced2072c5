"""Unit tests of the pure outage rules: the backoff schedule and budget, the circuit breaker's state machine
(on an injected clock), and the job transitions of a wait for a stage service."""

from __future__ import annotations

import pytest

from services.scheduler import core, waits
from services.scheduler.backoff import Backoff, OutageBudget
from services.scheduler.breaker import BreakerConfig, Breakers, CircuitBreaker, Health
from services.scheduler.model import (
    CourseInput,
    EventKind,
    JobRecord,
    JobState,
    JobType,
    ServiceState,
    Stage,
    StageState,
    stages_of,
)


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- backoff and budget ------------------------------------------------------------------------------------


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(initial=0.2, maximum=2.0, jitter=0.0)
    assert [backoff.delay(n, 0.7) for n in range(6)] == pytest.approx([0.2, 0.4, 0.8, 1.6, 2.0, 2.0])


def test_backoff_jitter_takes_off_at_most_its_fraction() -> None:
    backoff = Backoff(initial=1.0, maximum=10.0, jitter=0.5)
    assert backoff.delay(0, 0.0) == pytest.approx(1.0)
    assert backoff.delay(0, 0.999999) == pytest.approx(0.5, abs=1e-5)
    assert backoff.delay(3, 0.5) == pytest.approx(6.0)


def test_backoff_survives_huge_retry_counts_and_refuses_negative_ones() -> None:
    assert Backoff(initial=0.1, maximum=5.0).delay(10_000, 0.0) == 5.0
    with pytest.raises(ValueError):
        Backoff(initial=0.1, maximum=5.0).delay(-1, 0.0)


def test_budget_bounds_each_try_and_each_pause_by_what_is_left() -> None:
    budget = OutageBudget(10.0)
    backoff = Backoff(initial=4.0, maximum=8.0, jitter=0.0)
    assert not budget.waiting and budget.try_timeout(100.0, 30.0) == 30.0  # not waiting: the stage timeout
    budget.begin(100.0)
    budget.begin(101.0)  # the wait began at the first failure, not the latest
    assert budget.try_timeout(100.0, 30.0) == 10.0
    assert budget.try_timeout(103.0, 5.0) == 5.0
    assert budget.next_delay(103.0, backoff, 0.0) == 4.0
    assert budget.next_delay(107.0, backoff, 0.0) == 3.0  # 8 s by the schedule, 3 s left
    assert budget.retries == 2
    assert not budget.spent(109.9) and budget.spent(110.0)
    assert budget.waited(112.0) == 12.0 and budget.left(112.0) == 0.0


# --- the breaker -------------------------------------------------------------------------------------------


def breaker(clock: Clock, threshold: int = 1) -> CircuitBreaker:
    config = BreakerConfig(
        failure_threshold=threshold, cooldown=Backoff(initial=1.0, maximum=4.0, jitter=0.0), probe_timeout=30.0
    )
    return CircuitBreaker("similarity", config, clock=clock)


def test_unknown_service_lets_jobs_start_and_health_or_a_call_makes_it_serving() -> None:
    clock = Clock()
    b = breaker(clock)
    assert b.state is ServiceState.UNSPECIFIED and not b.blocks
    assert b.on_health(Health.SERVING) and b.state is ServiceState.SERVING
    other = breaker(clock)
    assert other.on_success() and other.state is ServiceState.SERVING


def test_health_down_opens_and_holds_open_until_health_says_serving_then_one_probe() -> None:
    clock = Clock()
    b = breaker(clock)
    b.on_health(Health.SERVING)
    clock.now += 5
    assert b.on_health(Health.DOWN, "UNAVAILABLE: connection refused")
    assert b.state is ServiceState.UNAVAILABLE and b.blocks and b.since == clock.now
    assert b.reason == "UNAVAILABLE: connection refused"
    clock.now += 3600  # however long: the cool-down does not override health
    assert not b.refresh() and b.blocks
    assert b.on_health(Health.SERVING) and b.state is ServiceState.PROBING and not b.blocks
    b.probe_started()
    assert b.blocks  # one probe at a time
    assert b.on_success() and b.state is ServiceState.SERVING and not b.blocks


def test_a_failed_probe_opens_again_and_a_silent_probe_frees_its_slot() -> None:
    clock = Clock()
    b = breaker(clock, threshold=3)
    b.on_health(Health.SERVING)
    b.on_health(Health.DOWN)
    b.on_health(Health.SERVING)
    b.probe_started()
    clock.now += 29
    b.refresh()
    assert b.blocks
    clock.now += 1
    b.refresh()
    assert b.state is ServiceState.PROBING and not b.blocks  # the probe said nothing for probe_timeout
    b.probe_started()
    assert b.on_failure("UNAVAILABLE") and b.state is ServiceState.UNAVAILABLE  # in PROBING one failure opens


def test_call_failures_open_after_the_threshold_and_the_cooldown_grows_without_health() -> None:
    clock = Clock()
    b = breaker(clock, threshold=2)
    b.on_success()
    assert not b.on_failure("UNAVAILABLE") and b.state is ServiceState.SERVING
    assert b.on_failure("UNAVAILABLE") and b.state is ServiceState.UNAVAILABLE
    clock.now += 0.99
    assert not b.refresh()
    clock.now += 0.01
    assert b.refresh() and b.state is ServiceState.PROBING  # 1 s cool-down
    b.probe_started()
    b.on_failure("UNAVAILABLE")
    clock.now += 1.5
    assert not b.refresh()  # second opening in a row: 2 s
    clock.now += 0.5
    assert b.refresh() and b.state is ServiceState.PROBING
    b.on_success()
    b.on_failure("x")
    b.on_failure("x")
    clock.now += 1.0
    assert b.refresh()  # a success reset the cool-down to its first step


def test_a_service_never_seen_serving_does_not_stop_jobs_from_starting() -> None:
    clock = Clock()
    b = breaker(clock)
    assert not b.on_health(Health.DOWN, "UNAVAILABLE: connection refused")
    assert not b.on_failure("UNAVAILABLE: connection refused")
    assert b.state is ServiceState.UNSPECIFIED and not b.blocks
    assert b.reason == "UNAVAILABLE: connection refused"  # shown in queue status all the same
    assert b.on_health(Health.SERVING) and b.state is ServiceState.SERVING
    assert b.on_health(Health.DOWN) and b.blocks  # now it can be lost


def test_a_call_that_gets_through_wins_over_a_lagging_health_report() -> None:
    clock = Clock()
    b = breaker(clock)
    b.on_health(Health.SERVING)
    b.on_health(Health.DOWN)
    assert b.on_success() and b.state is ServiceState.SERVING and b.health is Health.UNKNOWN


def test_gate_starts_no_job_while_a_service_is_down_and_one_while_probing() -> None:
    clock = Clock()
    gate = Breakers(["ner", "similarity"], BreakerConfig(), clock=clock)
    assert gate.claimable(4) == 4
    gate["similarity"].on_health(Health.SERVING)
    gate["similarity"].on_health(Health.DOWN, "gone")
    assert gate.claimable(4) == 0 and gate.blocking() == ["similarity"]
    gate["similarity"].on_health(Health.SERVING)
    assert gate.claimable(4) == 1
    gate.started(0)  # nothing was queued: the probe slot stays free
    assert gate.claimable(4) == 1
    gate.started(1)
    assert gate.claimable(4) == 0
    gate["similarity"].on_success()
    assert gate.claimable(4) == 4


def test_gate_views_count_waiting_jobs() -> None:
    clock = Clock()
    gate = Breakers(["ner", "similarity"], BreakerConfig(), clock=clock)
    gate["ner"].on_success()
    gate["ner"].on_health(Health.DOWN, "UNAVAILABLE: refused")
    gate.wait_began("ner")
    gate.wait_began("ner")
    gate.wait_ended("ner")
    gate.wait_ended("similarity")  # never below zero
    views = {v.service: v for v in gate.views()}
    assert views["ner"].state is ServiceState.UNAVAILABLE and views["ner"].waiting_jobs == 1
    assert views["ner"].reason == "UNAVAILABLE: refused" and views["ner"].since == clock.now
    assert views["similarity"].waiting_jobs == 0 and views["similarity"].state is ServiceState.UNSPECIFIED


# --- job transitions -----------------------------------------------------------------------------------------


def running_job(attempt: int = 1) -> JobRecord:
    job, _ = core.new_job(
        core.Submission(type=JobType.COURSE_RECOMMENDATION, input=CourseInput("resume", "job")), "alice", 1.0
    )
    for _ in range(attempt):
        if job.state is JobState.RUNNING:
            core.requeue(job, "again", 99, 2.0, 60.0)
        core.start_attempt(job, "w", 2.0, 10.0)
    core.start_stage(job, Stage.SIMILARITY_ANALYSIS, 3.0)
    return job


def test_waiting_and_recovering_mark_the_job_and_record_events() -> None:
    job = running_job()
    [waiting] = waits.wait_for_service(job, Stage.SIMILARITY_ANALYSIS, "similarity", "UNAVAILABLE: refused", 120.0)
    assert job.waiting_for_service == "similarity"
    assert waiting.kind is EventKind.SERVICE_WAITING
    assert waiting.data == {
        "stage": "SIMILARITY_ANALYSIS",
        "service": "similarity",
        "reason": "UNAVAILABLE: refused",
        "budget": 120.0,
    }
    [recovered] = waits.service_recovered(job, Stage.SIMILARITY_ANALYSIS, "similarity", 7.5)
    assert job.waiting_for_service == "" and recovered.kind is EventKind.SERVICE_RECOVERED
    assert recovered.data["waited"] == 7.5


def test_a_spent_budget_requeues_naming_the_service_then_fails_after_the_last_attempt() -> None:
    job = running_job(attempt=1)
    waits.wait_for_service(job, Stage.SIMILARITY_ANALYSIS, "similarity", "UNAVAILABLE", 3.0)
    events = waits.outage_outlasted_budget(
        job, Stage.SIMILARITY_ANALYSIS, "similarity", "UNAVAILABLE: refused", 3.0, 2, 5.0, 60.0
    )
    assert job.state is JobState.QUEUED and job.waiting_for_service == ""
    assert [e.kind for e in events] == [EventKind.STAGE_FINISHED, EventKind.RETRIED]
    assert "similarity service" in events[-1].data["reason"] and events[-1].data["attempt"] == 1

    core.start_attempt(job, "w", 6.0, 20.0)
    core.start_stage(job, Stage.SIMILARITY_ANALYSIS, 6.5)
    events = waits.outage_outlasted_budget(
        job, Stage.SIMILARITY_ANALYSIS, "similarity", "UNAVAILABLE: refused", 3.0, 2, 9.0, 60.0
    )
    assert job.state is JobState.FAILED and events[-1].kind is EventKind.FAILED
    assert job.error is not None and job.error.stage is Stage.SIMILARITY_ANALYSIS
    assert job.error.code == core.CODE_UNAVAILABLE and job.error.reason == waits.STAGE_UNAVAILABLE
    assert "SIMILARITY_ANALYSIS" in job.error.message and "UNAVAILABLE: refused" in job.error.message
    assert job.stages[2].state is StageState.FAILED


def test_transitions_of_a_wait_refuse_a_job_that_is_not_running() -> None:
    job = running_job()
    core.cancel(job, "stop", 4.0, 60.0)
    with pytest.raises(core.JobAlreadyFinished):
        waits.wait_for_service(job, Stage.SIMILARITY_ANALYSIS, "similarity", "x", 1.0)
    with pytest.raises(core.JobAlreadyFinished):
        waits.service_recovered(job, Stage.SIMILARITY_ANALYSIS, "similarity", 1.0)


def test_every_stage_names_its_service() -> None:
    assert stages_of("ner") == [Stage.ENTITY_RECOGNITION, Stage.SKILL_EXTRACTION]
    assert stages_of("recommendation") == [Stage.RECOMMENDATION, Stage.SCORING]
    assert sum(len(stages_of(s)) for s in ("ner", "similarity", "retrieval", "recommendation")) == len(Stage)
