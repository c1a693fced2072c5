"""What the SQLite store writes to disk: the pages a state change dirties. The write-ahead log holds whole pages, so
every b-tree a change touches costs a page per commit, and the page's size sets the price."""

from __future__ import annotations

import contextlib
import sqlite3
import struct
from functools import partial
from pathlib import Path

from services.scheduler import core
from services.scheduler.feed import ChangeFeed
from services.scheduler.model import CourseInput, JobRecord, JobType, Stage
from services.scheduler.store.sqlite import SqliteJobStore
from tests.scheduler.store_support import create

NOW = 5_000_000.0
WAL_HEADER, FRAME_HEADER = 32, 24


def wal_pages(db: Path, since_frame: int = 0) -> list[int]:
    """The page number of each frame of the file's write-ahead log, from frame `since_frame` on."""
    data = (db.parent / (db.name + "-wal")).read_bytes()
    (page_size,) = struct.unpack(">I", data[8:12])
    frames = range(WAL_HEADER, len(data) - FRAME_HEADER - page_size + 1, FRAME_HEADER + page_size)
    return [struct.unpack(">I", data[at : at + 4])[0] for at in frames][since_frame:]


def btree_of_page(db: Path) -> dict[int, str]:
    """Which table or index each page of the file (as the log has it now) belongs to."""
    with sqlite3.connect(db) as reader:
        return {page: name for name, page in reader.execute("SELECT name, pageno FROM dbstat")}


async def claimed_analysis(path: Path) -> tuple[SqliteJobStore, JobRecord]:
    """A store on `path` holding one analysis, claimed by worker "w" (the job as claimed: its fence is current)."""
    store = SqliteJobStore(path, ChangeFeed())
    await store.open()
    sub = core.Submission(JobType.COURSE_RECOMMENDATION, CourseInput("Resume: Python", "Needs Python", 0.6))
    await create(store, sub, "ann", NOW)
    (claimed,) = await store.claim(worker="w", now=NOW, lease_seconds=30, limit=1, start=core.starter("w", NOW, 30))
    return store, claimed


async def test_a_stage_change_writes_no_page_of_an_index_whose_columns_did_not_change(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    store, claimed = await claimed_analysis(path)
    try:
        before = len(wal_pages(path))
        change = lambda j: core.start_stage(j, Stage.ENTITY_RECOGNITION, NOW + 1)  # noqa: E731
        await store.transition(claimed.id, claimed.fence, change, NOW + 1)
        written = {btree_of_page(path).get(page, "?") for page in wal_pages(path, before)}
    finally:
        await store.close()
    # The record's row and the new event; the state, owner, lease and queue indexes stay as they were.
    assert written <= {"jobs", "events", "sqlite_schema"}, written
    assert {"jobs", "events"} <= written


async def test_a_stage_change_appends_less_to_the_log_than_two_default_sized_pages(tmp_path: Path) -> None:
    """A stage change dirties two pages (the record's and the new event's), each written whole: with SQLite's default
    4 KB pages that is over 8 KB a commit for rows of a few hundred bytes."""
    path = tmp_path / "jobs.db"
    store, claimed = await claimed_analysis(path)
    try:
        wal = path.parent / (path.name + "-wal")
        before = wal.stat().st_size
        change = lambda j: core.start_stage(j, Stage.ENTITY_RECOGNITION, NOW + 1)  # noqa: E731
        await store.transition(claimed.id, claimed.fence, change, NOW + 1)
        appended = wal.stat().st_size - before
    finally:
        await store.close()
    assert 0 < appended < 2 * (4096 + FRAME_HEADER), appended


async def test_stage_timings_are_written_together_and_read_back_whole(tmp_path: Path) -> None:
    """Each finished stage measures its duration; within a second the samples wait and go into the file with one
    commit, so the stages' commits write no page of the timings table. A read, and closing, write what waits."""
    path = tmp_path / "jobs.db"
    store, claimed = await claimed_analysis(path)
    before = len(wal_pages(path))
    stages = [Stage.ENTITY_RECOGNITION, Stage.SKILL_EXTRACTION, Stage.SIMILARITY_ANALYSIS]
    for i, stage in enumerate(stages):
        at = NOW + 0.1 * (i + 1)
        await store.transition(claimed.id, claimed.fence, partial(core.start_stage, stage=stage, now=at), at)
        finish = partial(core.finish_stage, stage=stage, now=at + 0.05, summary="done", metrics={})
        await store.transition(claimed.id, claimed.fence, finish, at + 0.05)
    written = {btree_of_page(path).get(page, "?") for page in wal_pages(path, before)}
    assert not written & {"timings", "timings_key"}, written
    assert {f"stage:{s.value}" for s in stages} <= set(await store.timings())
    await store.transition(claimed.id, claimed.fence, lambda j: core.succeed(j, b"", NOW + 0.5, 60.0), NOW + 0.5)
    await store.close()
    reopened = SqliteJobStore(path, ChangeFeed())
    try:
        timings = await reopened.timings()
    finally:
        await reopened.close()
    assert timings["job:course_recommendation"].samples == 1
    assert all(timings[f"stage:{s.value}"].samples == 1 for s in stages)


async def test_timings_held_back_by_a_rolled_back_transaction_go_with_it(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db", ChangeFeed())
    try:
        with store._tx():
            store._pending_timings.append(("stage:kept", NOW, 1.0))
        with contextlib.suppress(RuntimeError), store._tx():
            store._pending_timings.append(("stage:flushed", NOW, 2.0))
            store._flush_timings()  # written inside the transaction, then rolled back with it
            store._pending_timings.append(("stage:after", NOW, 3.0))
            raise RuntimeError("the transaction fails")
        assert set(await store.timings()) == {"stage:kept"}
    finally:
        await store.close()
