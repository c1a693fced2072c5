"""A handler's context writes a stage's end together with what comes next: one commit per stage, not two, and no
stage's end is lost when the attempt ends, well or badly."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest

from services.common.settings import Settings
from services.scheduler import core
from services.scheduler.feed import ChangeFeed
from services.scheduler.job_context import JobContext
from services.scheduler.model import (
    CourseInput,
    EventKind,
    JobError,
    JobRecord,
    JobState,
    JobType,
    Stage,
    StageState,
)
from services.scheduler.store.base import JobStore
from services.scheduler.store.factory import open_store
from tests.scheduler.store_support import create

NOW = 5_000_000.0


class CountedStore:
    """The real store, with its transitions (commits) counted."""

    def __init__(self, store: JobStore) -> None:
        self.store, self.commits = store, 0

    async def transition(self, *args: object, **kwargs: object) -> object:
        self.commits += 1
        return await self.store.transition(*args, **kwargs)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[tuple[CountedStore, JobRecord]]:
    store = open_store(settings, ChangeFeed())
    try:
        sub = core.Submission(JobType.COURSE_RECOMMENDATION, CourseInput("resume", "job ad", 0.5))
        await create(store, sub, "ann", NOW)
        (job,) = await store.claim(worker="w", now=NOW, lease_seconds=30, limit=1, start=core.starter("w", NOW, 30))
        yield CountedStore(store), job
    finally:
        await store.close()


async def _two_stages(ctx: JobContext) -> None:
    for stage in (Stage.ENTITY_RECOGNITION, Stage.SKILL_EXTRACTION):
        async with ctx.stage(stage) as report:
            report.summary = f"{stage.value} done"


async def test_a_stage_ends_in_the_commit_that_starts_the_next_and_the_last_in_the_jobs_end(
    running: tuple[CountedStore, JobRecord],
) -> None:
    counted, job = running
    ctx = JobContext(counted, job, lambda: NOW + 1)  # type: ignore[arg-type]
    await _two_stages(ctx)
    await counted.transition(job.id, job.fence, ctx.then(lambda j: core.succeed(j, b"r", NOW + 2, 60)), NOW + 2)
    assert counted.commits == 3  # start, start (with the first's end), success (with the second's end)
    done = await counted.store.get(job.id)
    assert done is not None and done.state is JobState.SUCCEEDED
    assert [(s.stage, s.state, s.summary) for s in done.stages[:2]] == [
        (Stage.ENTITY_RECOGNITION, StageState.SUCCEEDED, "ENTITY_RECOGNITION done"),
        (Stage.SKILL_EXTRACTION, StageState.SUCCEEDED, "SKILL_EXTRACTION done"),
    ]
    kinds = [e.kind for e in await counted.store.events(job.id, 0)]
    assert kinds[-5:] == [
        EventKind.STAGE_STARTED,
        EventKind.STAGE_FINISHED,
        EventKind.STAGE_STARTED,
        EventKind.STAGE_FINISHED,
        EventKind.SUCCEEDED,
    ]


async def test_a_failure_after_a_stage_still_records_that_stages_end(running: tuple[CountedStore, JobRecord]) -> None:
    counted, job = running
    ctx = JobContext(counted, job, lambda: NOW + 1)  # type: ignore[arg-type]
    await _two_stages(ctx)
    error = JobError(code=core.CODE_UNAVAILABLE, message="ranking failed", stage=Stage.RECOMMENDATION)
    await counted.transition(job.id, job.fence, ctx.then(lambda j: core.fail(j, error, NOW + 2, 60)), NOW + 2)
    done = await counted.store.get(job.id)
    assert done is not None and done.state is JobState.FAILED
    assert [s.state for s in done.stages[:2]] == [StageState.SUCCEEDED, StageState.SUCCEEDED]
    kinds = [e.kind for e in await counted.store.events(job.id, 0)]
    assert kinds.count(EventKind.STAGE_FINISHED) == 2 and kinds[-1] is EventKind.FAILED


async def test_a_stage_call_that_found_others_in_flight_at_its_service_records_its_share(
    running: tuple[CountedStore, JobRecord],
) -> None:
    counted, job = running
    times = iter([NOW + 1.0, NOW + 4.0])  # the stage starts at +1 and ends at +4
    in_flight: Counter[str] = Counter({"ner": 2})  # two other jobs' calls are at the NER service already
    ctx = JobContext(counted, job, lambda: next(times), in_flight=in_flight)  # type: ignore[arg-type]
    async with ctx.stage(Stage.ENTITY_RECOGNITION):
        assert in_flight["ner"] == 3
    assert in_flight["ner"] == 2
    await counted.transition(job.id, job.fence, ctx.then(lambda j: core.succeed(j, b"r", NOW + 5, 60)), NOW + 5)
    found = await counted.store.timings()
    assert found["stage:ENTITY_RECOGNITION"].recent == 3.0  # what the job waited
    assert found["service:ENTITY_RECOGNITION"].recent == 1.0  # what the call cost the service: 3 s shared by 3
