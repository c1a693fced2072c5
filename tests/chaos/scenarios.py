"""The chaos scenarios, each a coroutine over running processes that checks what it promises and returns its
figures: a stage service killed mid-run and restarted (the outage is waited out), and a stage service kept down
past the outage budget (jobs go back to the queue, nothing is started until it returns)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass

import grpc
from skillbridge.scheduler.v1 import job_pb2
from skillbridge.scheduler.v1 import scheduler_service_pb2 as pb
from skillbridge.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc

from tests.chaos.harness import (
    ChaosError,
    Outcome,
    Schedulers,
    StageProcesses,
    check,
    counts,
    histories,
    submit,
    succeeded_at_least,
    until,
)


@dataclass
class Figures:
    """One scenario's measured figures (seconds unless named otherwise)."""

    scenario: str
    store: str
    service: str
    jobs: int
    restart_delay_s: float
    startup_s: float  # the restarted service's start until SERVING
    outage_s: float  # from the kill until the service answered SERVING again
    run_s: float  # from the submit until every job ended
    claims_paused: float  # claim-loop turns that started nothing because a service was down
    outcome: Outcome

    def row(self) -> dict[str, object]:
        flat = asdict(self)
        flat.update(flat.pop("outcome"))
        return flat


async def _all_ended(stub: pb_grpc.JobSchedulerServiceStub, base: dict[str, int], jobs: int) -> bool:
    now = await counts(stub)
    return sum(now.get(s, 0) - base.get(s, 0) for s in ("succeeded", "failed", "cancelled")) >= jobs


async def kill_mid_run(
    stages: StageProcesses,
    schedulers: Schedulers,
    *,
    store: str,
    service: str,
    jobs: int,
    kill_after: int,
    restart_delay: float,
    slots: int,
    within: float = 600.0,
) -> Figures:
    """`jobs` analyses queued at once; once `kill_after` of them succeeded, SIGKILL `service`, start it again
    after `restart_delay`; every job must succeed exactly once, in its first attempt when the outage was shorter
    than the budget, and at most `slots` jobs may have waited (those running when it died)."""
    async with grpc.aio.insecure_channel(schedulers.addresses[0]) as channel:
        stub = pb_grpc.JobSchedulerServiceStub(channel)
        base = await counts(stub)
        paused_before = schedulers.claims_paused()
        started = time.monotonic()
        ids = await submit(stub, jobs)
        await until(
            lambda: succeeded_at_least(stub, base.get("succeeded", 0) + kill_after),
            within=within,
            what=f"{kill_after} jobs succeeded before the kill",
        )
        stages.kill(service)
        killed = time.monotonic()
        ended_before = (await counts(stub)).get("succeeded", 0) - base.get("succeeded", 0)
        if ended_before >= jobs:
            raise ChaosError("every job ended before the kill: nothing was tested")
        await asyncio.sleep(restart_delay)  # the outage itself: how long the service stays dead before its restart
        startup = await stages.serving(service, stages.start(service))
        outage = time.monotonic() - killed
        await until(lambda: _all_ended(stub, base, jobs), within=within, what="every job ended after the restart")
        run = time.monotonic() - started
        outcome = check(await histories(stub, ids))
    paused = schedulers.claims_paused() - paused_before
    if outcome.waited > slots:
        raise ChaosError(f"{outcome.waited} jobs waited for {service}; only the {slots} running could have")
    if outcome.waited == 0 and paused == 0:
        raise ChaosError(f"no job waited for {service} and no claim was held back: the kill tested nothing")
    return Figures("kill -9, restart", store, service, jobs, restart_delay, startup, outage, run, paused, outcome)


async def outlast_budget(
    stages: StageProcesses,
    schedulers: Schedulers,
    *,
    store: str,
    service: str,
    jobs: int,
    kill_after: int,
    slots: int,
    held_turns: int = 10,
    within: float = 600.0,
) -> Figures:
    """The schedulers run with a short outage budget. `service` dies mid-run and stays down until every attempt
    that waited for it has given up (back to the queue) and the claim loops have turned `held_turns` times more
    without starting a job; then it comes back. Every job must succeed exactly once; no attempt started while it
    was down may have waited for it (each job waited in one attempt at most), and at most `slots` jobs waited."""
    async with grpc.aio.insecure_channel(schedulers.addresses[0]) as channel:
        stub = pb_grpc.JobSchedulerServiceStub(channel)
        base = await counts(stub)
        started = time.monotonic()
        ids = await submit(stub, jobs)
        await until(
            lambda: succeeded_at_least(stub, base.get("succeeded", 0) + kill_after),
            within=within,
            what=f"{kill_after} jobs succeeded before the kill",
        )
        stages.kill(service)
        killed = time.monotonic()
        paused_before = schedulers.claims_paused()

        async def held() -> bool:
            now = await counts(stub)
            return now.get("running", 0) == 0 and schedulers.claims_paused() >= paused_before + held_turns

        await until(held, within=within, what="every waiting attempt gave up and claims stayed paused")
        status = await stub.GetQueueStatus(pb.GetQueueStatusRequest(), timeout=10)
        states = {s.service: s.state for s in status.stage_services}
        if states.get(service) != pb.STAGE_SERVICE_STATE_UNAVAILABLE:
            raise ChaosError(f"queue status shows {service} as {states.get(service)} while it is down")
        if status.queued == 0:
            raise ChaosError("nothing was left in the queue while the service was down: nothing was tested")
        startup = await stages.serving(service, stages.start(service))
        outage = time.monotonic() - killed
        await until(lambda: _all_ended(stub, base, jobs), within=within, what="every job ended after the return")
        run = time.monotonic() - started
        runs = await histories(stub, ids)
        outcome = check(runs)
    paused = schedulers.claims_paused() - paused_before
    waited_twice = [job.id for events, job in runs if _attempts_that_waited(events) > 1]
    if waited_twice:
        raise ChaosError(f"jobs started again while {service} was down and waited again: {waited_twice}")
    if outcome.waited > slots or outcome.requeued < 1:
        raise ChaosError(f"{outcome.waited} jobs waited, {outcome.requeued} went back to the queue (slots {slots})")
    return Figures("down past the budget", store, service, jobs, 0.0, startup, outage, run, paused, outcome)


def _attempts_that_waited(events: list[job_pb2.JobEvent]) -> int:
    attempts: set[int] = set()
    attempt = 0
    for event in events:
        if event.HasField("started"):
            attempt = event.started.attempt
        elif event.HasField("service_waiting"):
            attempts.add(attempt)
    return len(attempts)
