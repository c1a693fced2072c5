"""What a job handler works with: the context of one attempt (stage starts, ends, progress and waits for a
stage service, written under the attempt's fencing token) and the errors that end an attempt."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

from services.scheduler import core, waits
from services.scheduler.metrics import SchedulerMetrics
from services.scheduler.model import SERVICE_OF_STAGE, JobRecord, Stage
from services.scheduler.store.base import Change, JobStore


class StageFailed(Exception):
    """A stage could not complete; the job fails with this code (a google.rpc.Code number) and message."""

    def __init__(self, stage: Stage, code: int, message: str, reason: str = "STAGE_FAILED") -> None:
        super().__init__(message)
        self.stage, self.code, self.message, self.reason = stage, code, message, reason


class ServiceOutage(Exception):
    """A stage's service stayed unreachable for the whole outage budget: the job goes back to the queue."""

    def __init__(self, stage: Stage, service: str, cause: str, waited: float, budget: float) -> None:
        super().__init__(f"{stage.value}: the {service} service was unreachable for {waited:.1f} s ({cause})")
        self.stage, self.service, self.cause, self.waited, self.budget = stage, service, cause, waited, budget


@dataclass
class StageReport:
    """What a running stage reports when it ends: a summary line and figures."""

    summary: str = ""
    metrics: dict[str, float] = field(default_factory=dict)


class JobContext:
    """Handed to a handler: records stage starts, progress and ends under the attempt's fencing token."""

    def __init__(
        self,
        store: JobStore,
        job: JobRecord,
        clock: Callable[[], float],
        metrics: SchedulerMetrics | None = None,
        stopping: Callable[[], bool] = lambda: False,
        in_flight: Counter[str] | None = None,
    ) -> None:
        self._store, self.job, self._clock, self._metrics = store, job, clock, metrics
        self._stopping = stopping
        # Stage calls this dispatcher has in flight per service, shared by its jobs' contexts (see stage()).
        self._in_flight: Counter[str] = in_flight if in_flight is not None else Counter()
        self.fence = job.fence
        # True while a stage call of this attempt waits for an unreachable service (shutdown hands it back at once).
        self.waiting = False
        # The end of the stage that finished last, until it is written with whatever comes next (the next stage's
        # start, or the attempt's end): the two are microseconds apart, and one commit writes whole pages once.
        self._ended: Change | None = None

    def then(self, change: Change) -> Change:
        """`change`, after the end of the last finished stage if that is not written yet (a handler's writes and
        the dispatcher's write at the attempt's end go through here, so a stage's end is never lost)."""
        ended, self._ended = self._ended, None
        if ended is None:
            return change
        return lambda j: ended(j) + change(j)

    @contextlib.asynccontextmanager
    async def stage(self, stage: Stage) -> AsyncIterator[StageReport]:
        now = self._clock()
        await self._store.transition(self.job.id, self.fence, self.then(lambda j: core.start_stage(j, stage, now)), now)
        report = StageReport()
        # A service serves calls about one at a time: a call that finds `ahead` others in flight there takes about
        # ahead + 1 service times. What one call costs the service is what the wait estimate needs to know how fast
        # a full queue drains (estimates.bottleneck_seconds); the stage's own duration, waiting included, is not.
        service = SERVICE_OF_STAGE[stage]
        ahead = self._in_flight[service]
        self._in_flight[service] += 1
        try:
            yield report
        finally:
            self._in_flight[service] -= 1
        end = self._clock()
        took = max(end - now, 0.0)
        self._ended = lambda j: core.finish_stage(j, stage, end, report.summary, report.metrics, took / (ahead + 1))
        if self._metrics is not None:
            self._metrics.stage_seconds.labels(stage.value).observe(took)

    async def dependencies(self) -> list[JobRecord]:
        """The jobs this one depended on (all SUCCEEDED, or it would not run), in depends_on order."""
        found = [await self._store.get(dep_id) for dep_id in self.job.depends_on]
        return [dep for dep in found if dep is not None]

    async def progress(self, stage: Stage, fraction: float, metrics: dict[str, float]) -> None:
        now = self._clock()
        await self._store.transition(
            self.job.id, self.fence, self.then(lambda j: core.report_progress(j, stage, fraction, metrics)), now
        )

    async def service_waiting(self, stage: Stage, service: str, reason: str, budget: float) -> None:
        self.waiting = True
        now = self._clock()
        await self._store.transition(
            self.job.id, self.fence, self.then(lambda j: waits.wait_for_service(j, stage, service, reason, budget)), now
        )
        if self._stopping():
            # The dispatcher is draining: a job that cannot go on goes back to the queue now, not at the deadline.
            raise asyncio.CancelledError("draining")

    async def service_recovered(self, stage: Stage, service: str, waited: float) -> None:
        self.waiting = False
        now = self._clock()
        await self._store.transition(
            self.job.id, self.fence, self.then(lambda j: waits.service_recovered(j, stage, service, waited)), now
        )


class JobHandler(Protocol):
    """Runs one job type; returns the result in its wire form (the type's result message, serialised once),
    or raises StageFailed."""

    async def run(self, job: JobRecord, ctx: JobContext) -> bytes: ...
