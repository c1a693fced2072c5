"""Chaos with real processes and real models, bounded for `make test` (`make chaos` runs the full size: 50+
analyses, every stage service, both stores, and prints figures).

The four stage services run as processes for the whole module. Each stage service is killed with SIGKILL
mid-run and started again (its normal start-up is the outage): NER and retrieval under a scheduler on SQLite,
similarity and recommendation under one on Redis. Every job must end SUCCEEDED exactly once with gap-free
events. Then, on both stores, a stage service is kept down past a short outage budget: the jobs it held go
back to the queue and finish once it returns, and no job is started while it is down (on events: no job waits
in two attempts, at most the running ones waited). Last, a scheduler replica on Redis gets SIGTERM with every
job watched through the SDK: it exits within its grace period and every watch goes on from the other replica.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.chaos.drain import drain_with_watchers
from tests.chaos.harness import Schedulers, StageProcesses
from tests.chaos.scenarios import kill_mid_run, outlast_budget
from tests.scheduler.redis_support import delete_prefix, require_redis, unique_prefix

pytestmark = [pytest.mark.ml, pytest.mark.redis]

SLOTS = 2
JOBS = 10
RESTART_DELAY = 0.5


@pytest.fixture(scope="module")
def stages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StageProcesses]:
    processes = StageProcesses(tmp_path_factory.mktemp("stages"))
    try:
        asyncio.run(processes.start_all())
        yield processes
    finally:
        processes.stop_all()


@pytest.fixture
async def redis_store() -> AsyncIterator[str]:
    url, prefix = await require_redis(), unique_prefix()
    yield f"{url}{'&' if '?' in url else '?'}prefix={prefix}"
    await delete_prefix(url, prefix)


async def kill_each(stages: StageProcesses, store: str, name: str, services: tuple[str, ...], tmp: Path) -> None:
    schedulers = Schedulers(store, stages, tmp, {"concurrency": str(SLOTS)})
    schedulers.start()
    try:
        await schedulers.ready()
        for service in services:
            figures = await kill_mid_run(
                stages,
                schedulers,
                store=name,
                service=service,
                jobs=JOBS,
                kill_after=2,
                restart_delay=RESTART_DELAY,
                slots=SLOTS,
            )
            assert figures.outcome.succeeded == JOBS
            assert figures.outcome.max_attempt == 1  # the outage was shorter than the budget: no job re-queued
    finally:
        schedulers.stop_all()


@pytest.mark.timeout(600)
async def test_kill_9_of_ner_and_retrieval_on_sqlite(stages: StageProcesses, tmp_path: Path) -> None:
    await kill_each(stages, f"sqlite:///{tmp_path / 'chaos.db'}", "sqlite", ("ner", "retrieval"), tmp_path)


@pytest.mark.timeout(600)
async def test_kill_9_of_similarity_and_recommendation_on_redis(
    stages: StageProcesses, redis_store: str, tmp_path: Path
) -> None:
    await kill_each(stages, redis_store, "redis", ("similarity", "recommendation"), tmp_path)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("store_kind", ["sqlite", "redis"])
async def test_a_service_down_past_the_budget_requeues_and_starts_nothing_until_it_returns(
    stages: StageProcesses, redis_store: str, tmp_path: Path, store_kind: str
) -> None:
    store = f"sqlite:///{tmp_path / 'outlast.db'}" if store_kind == "sqlite" else redis_store
    settings = {"concurrency": str(SLOTS), "stage_outage_budget_seconds": "1.0"}
    schedulers = Schedulers(store, stages, tmp_path, settings)
    schedulers.start()
    try:
        await schedulers.ready()
        figures = await outlast_budget(
            stages, schedulers, store=store_kind, service="recommendation", jobs=JOBS, kill_after=2, slots=SLOTS
        )
        assert figures.outcome.succeeded == JOBS and figures.outcome.requeued >= 1
        assert figures.claims_paused >= 10
    finally:
        schedulers.stop_all()


@pytest.mark.timeout(300)
async def test_sigterm_ends_within_the_grace_period_and_sdk_watches_resume_on_the_other_replica(
    tmp_path: Path,
) -> None:
    url, prefix = await require_redis(), f"drain:{uuid.uuid4().hex[:10]}:"
    try:
        figures = await drain_with_watchers(
            tmp_path, jobs=20, grace=4.0, store=f"{url}{'&' if '?' in url else '?'}prefix={prefix}"
        )
    finally:
        await delete_prefix(url, prefix)
    assert figures["exit_status"] == 0 and figures["all_succeeded_gap_free"]
    assert figures["watches_open_at_sigterm"] > 0 and figures["watch_reconnects"] > 0
    # The replica's own account: its drain keeps one deadline for every step.
    assert figures["drained_s"] <= figures["grace_s"] + 0.5


@pytest.mark.timeout(300)
async def test_jobs_that_cannot_finish_within_the_grace_are_handed_back_and_the_drain_keeps_its_deadline(
    tmp_path: Path,
) -> None:
    url, prefix = await require_redis(), f"drain:{uuid.uuid4().hex[:10]}:"
    try:
        # Each stage call takes 1 s, a job 6 s: the jobs running at SIGTERM cannot end within 2 s.
        figures = await drain_with_watchers(
            tmp_path,
            jobs=12,
            grace=2.0,
            double_delay=1.0,
            term_when_running=8,
            store=f"{url}{'&' if '?' in url else '?'}prefix={prefix}",
        )
    finally:
        await delete_prefix(url, prefix)
    assert figures["handed_back"] >= 1 and figures["all_succeeded_gap_free"]
    assert figures["drained_s"] <= figures["grace_s"] + 0.5
