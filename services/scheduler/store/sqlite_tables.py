"""The SQLite store's tables: opening the file, reading and writing records, events and the queue's order, and
applying an admission decision inside a write transaction. SqliteJobStore (sqlite.py) builds the JobStore on it.

The embedded default store is one SQLite file in WAL mode.

Calls run on the event loop thread on purpose: a WAL commit with synchronous=NORMAL takes tens of
microseconds, less than a hop to a worker thread would, and one connection used from one thread needs no
locking. synchronous=NORMAL in WAL mode survives a killed process (only an OS crash can lose the last commits).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.scheduler import codec
from services.scheduler.feed import ChangeFeed
from services.scheduler.model import (
    Admission,
    JobEvent,
    JobRecord,
    JobState,
    NewEvent,
)
from services.scheduler.store.sqlite_schema import migrate

TIMINGS_FLUSH_SECONDS = 1.0
PAGE_SIZE = 2048


class SqliteTables:
    """One SQLite file and the row-level operations of the store (one process owns the file)."""

    def __init__(self, path: Path, feed: ChangeFeed) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # Every commit writes each page it dirties whole, to the write-ahead log and again at the checkpoint, and a
        # job's commits change a few rows each: with 2 KB pages instead of SQLite's 4 KB default an analysis of
        # 50 KB of text writes about a third less (tests/bench/write_bench.py: 6.7x -> 4.6x its input), at no cost
        # measured to submit or drain; 1 KB pages wrote a little less again but slowed batch submits by ~10%.
        # Applies to a new file only (an existing one keeps its page size).
        self._db.execute(f"PRAGMA page_size={PAGE_SIZE}")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        migrate(self._db)
        self._feed = feed
        row = self._db.execute("SELECT COALESCE(MAX(queue_seq), 0) FROM jobs").fetchone()
        self._next_seq = int(row[0]) + 1
        # Queued jobs per priority, kept in step with every write (one process owns the file), so the depth and
        # a new job's place are known without counting the queue.
        self._queued: Counter[int] = Counter(
            dict(self._db.execute("SELECT priority, COUNT(*) FROM jobs WHERE state = 'QUEUED' GROUP BY priority"))
        )
        # Jobs per state, kept the same way: counted from the file once here, not every second for the queue's
        # statistics (with 200,000 jobs in the file, counting them took 136 ms of the event loop).
        self._by_state: Counter[JobState] = Counter(
            {JobState(state): n for state, n in self._db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state")}
        )
        # The fair-order rounds read so far, by (priority, owner), kept in step with every write (one process
        # owns the file): a submit read two and a claim one from the file, each a statement of its own.
        self._rounds: dict[tuple[int, str], int | None] = {}
        self.path = path
        # Measured service times wait here and go into the file with a later commit, at most
        # TIMINGS_FLUSH_SECONDS after the first of them: written one stage at a time they dirtied the timings
        # table's page and its index's page in almost every commit of a job. A killed process loses the samples
        # of its last second, which only feed the wait estimates.
        self._pending_timings: list[tuple[str, float, float]] = []
        # The events the last transaction wrote, per job, for the change notices sent after it commits.
        self._written: dict[str, list[JobEvent]] = {}

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        self._written = {}
        # Copied as plain dicts (a tenth of the cost of building Counters, on every transaction); made Counters
        # again only on a rollback.
        queued, by_state, next_seq = dict(self._queued), dict(self._by_state), self._next_seq
        # A flush binds a new list and leaves this one as it was: a rollback goes back to it, cut to its length.
        pending, held = self._pending_timings, len(self._pending_timings)
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            self._written = {}
            # what the rolled-back writes counted or held back goes too
            self._queued, self._by_state, self._next_seq = Counter(queued), Counter(by_state), next_seq
            self._rounds.clear()  # read from the file again as it is after the rollback
            del pending[held:]
            self._pending_timings = pending
            raise
        self._db.execute("COMMIT")

    def _flush_timings(self) -> None:
        """Writes the held-back timings (inside the caller's transaction)."""
        if self._pending_timings:
            self._db.executemany("INSERT INTO timings (key, at, seconds) VALUES (?,?,?)", self._pending_timings)
            self._pending_timings = []

    def _load(self, job_id: str) -> JobRecord | None:
        row = self._db.execute("SELECT body FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return codec.record_from_dict(codec.loads(row[0])) if row else None

    def _load_whole(self, where: str, params: tuple[object, ...], tail: str = "") -> list[JobRecord]:
        """Records with their input and result (for callers and handlers; state changes need only the record)."""
        rows = self._db.execute(
            f"SELECT j.body, i.data, r.data FROM jobs j LEFT JOIN inputs i ON i.job_id = j.id"
            f" LEFT JOIN results r ON r.job_id = j.id WHERE {where} {tail}",
            params,
        ).fetchall()
        return [codec.record_from_dict(codec.loads(body), given, result) for body, given, result in rows]

    def _save(self, job: JobRecord) -> None:
        values = job_row(job)
        if job.result is not None and job.state is JobState.SUCCEEDED:
            self._db.execute(
                "INSERT OR IGNORE INTO results (job_id, data) VALUES (?,?)",
                (job.id, codec.result_to_stored(job.result)),
            )
        if job.state is JobState.SUCCEEDED and job.cache_key:
            self._db.execute(
                "INSERT INTO cache (owner, key, job_id) VALUES (?,?,?)"
                " ON CONFLICT(owner, key) DO UPDATE SET job_id = excluded.job_id",
                (job.owner, job.cache_key, job.id),
            )
        # Only the columns whose value changed are set: SQLite rewrites the entry of every index over a column
        # named in SET, changed or not, and each such entry dirties a page that the write-ahead log writes whole
        # (a stage change that named all columns wrote 4 index pages besides the row's).
        stored = self._db.execute(f"SELECT {_FIELDS_SQL} FROM jobs WHERE id = ?", (job.id,)).fetchone()
        changed = [i for i, value in enumerate(values[: len(_FIELDS)]) if stored is None or stored[i] != value]
        assignments = "".join(f"{_FIELDS[i]}=?, " for i in changed)
        self._db.execute(
            f"UPDATE jobs SET {assignments}body=? WHERE id=?",
            (*(values[i] for i in changed), *values[len(_FIELDS) :]),
        )

    def _write_events(self, stored: list[JobEvent]) -> None:
        self._db.executemany(
            "INSERT INTO events (job_id, seq, time, kind, data) VALUES (?,?,?,?,?)",
            [(e.job_id, e.sequence, e.time, e.kind.value, codec.dumps(e.data)) for e in stored],
        )
        for event in stored:
            self._written.setdefault(event.job_id, []).append(event)

    def _job_changed(self, job_id: str) -> None:
        """Tells the feed, after the commit, that the job changed and which events the commit wrote for it."""
        self._feed.job_changed(job_id, events=self._written.get(job_id, ()))

    def _append(self, job: JobRecord, events: list[NewEvent], now: float) -> list[JobEvent]:
        stored = []
        for event in events:
            job.last_sequence += 1
            stored.append(JobEvent(job.id, job.last_sequence, now, event.kind, event.data))
        self._write_events(stored)
        self._pending_timings.extend((k, now, s) for e in events for k, s in e.timings)
        if self._pending_timings and now - self._pending_timings[0][1] >= TIMINGS_FLUSH_SECONDS:
            self._flush_timings()
        return stored

    def _moved(self, priority: int, before: JobState | None, after: JobState) -> None:
        """Keeps the queued and per-state counts in step with one job's change of state (`before` is None for a
        new job)."""
        self._queued[priority] += (after is JobState.QUEUED) - (before is JobState.QUEUED)
        if before is not None:
            self._by_state[before] -= 1
        self._by_state[after] += 1

    def _forgotten(self, states: Counter[JobState]) -> None:
        """Takes deleted jobs out of the per-state counts."""
        self._by_state.subtract(states)

    def _new_position(self, job: JobRecord) -> int:
        """The place of a job entering the queue now (the newest submit order, not yet in the queue): everyone
        of a higher priority, and everyone of its priority except those in a later fair round."""
        (later,) = self._db.execute(
            "SELECT COUNT(*) FROM jobs INDEXED BY jobs_queue"
            " WHERE state = 'QUEUED' AND priority = ? AND fair_round > ?",
            (job.priority, job.fair_round),
        ).fetchone()
        higher = sum(n for p, n in self._queued.items() if p > job.priority)
        return higher + self._queued[job.priority] - int(later) + 1

    def _position(self, job: JobRecord) -> int:
        # Range counts over the partial queue index, in its order (priority desc, round, seq); one query with
        # ORs would scan the whole table.
        row = self._db.execute(
            "SELECT (SELECT COUNT(*) FROM jobs INDEXED BY jobs_queue WHERE state = 'QUEUED' AND priority > ?)"
            " + (SELECT COUNT(*) FROM jobs INDEXED BY jobs_queue"
            "    WHERE state = 'QUEUED' AND priority = ? AND fair_round < ?)"
            " + (SELECT COUNT(*) FROM jobs INDEXED BY jobs_queue"
            "    WHERE state = 'QUEUED' AND priority = ? AND fair_round = ? AND queue_seq < ?)",
            (job.priority, job.priority, job.fair_round, job.priority, job.fair_round, job.queue_seq),
        ).fetchone()
        return int(row[0]) + 1

    def _round(self, priority: int, owner: str) -> int | None:
        key = (priority, owner)
        if key in self._rounds:
            return self._rounds[key]
        row = self._db.execute(
            "SELECT round FROM rounds WHERE priority = ? AND owner = ?", (priority, owner)
        ).fetchone()
        found = self._rounds[key] = int(row[0]) if row else None
        return found

    def _set_round(self, priority: int, owner: str, value: int) -> None:
        self._db.execute(
            "INSERT INTO rounds (priority, owner, round) VALUES (?,?,?)"
            " ON CONFLICT(priority, owner) DO UPDATE SET round = excluded.round",
            (priority, owner, value),
        )
        self._rounds[(priority, owner)] = value

    def _cached(self, owner: str, cache_key: str) -> JobRecord | None:
        if not cache_key:
            return None
        found = self._load_whole("j.id = (SELECT job_id FROM cache WHERE owner = ? AND key = ?)", (owner, cache_key))
        return found[0] if found else None

    def _apply(self, admission: Admission, now: float, before: JobState) -> JobRecord:
        """Writes a release decision about a stored job that was in state `before` (inside the caller's
        transaction): the record, its events, its place in the queue and the owner's round. (New jobs go in through
        sqlite_admission.)"""
        job = admission.job
        assert job is not None
        events = list(admission.events)
        if admission.queued_event is not None and job.state is JobState.QUEUED:
            job.queue_seq = self._next_seq
            self._next_seq += 1
            self._set_round(job.priority, job.owner, job.fair_round)
            events.append(admission.queued_event(self._new_position(job)))
        self._moved(job.priority, before, job.state)  # a delayed or waiting one: never queued before
        if admission.bucket is not None:
            self._db.execute(
                "INSERT INTO buckets (owner, tokens, updated) VALUES (?,?,?)"
                " ON CONFLICT(owner) DO UPDATE SET tokens = excluded.tokens, updated = excluded.updated",
                (job.owner, admission.bucket.tokens, admission.bucket.updated),
            )
        self._append(job, events, now)
        self._save(job)
        return job


JOB_COLUMNS = (
    "owner, state, priority, queue_seq, request_id, fence, lease_until, end_time, expire_time, fair_round,"
    " not_before, body, id"
)


# The jobs table's columns that copy fields of the record for queries (all but the body and the id), in order.
_FIELDS = tuple(column.strip() for column in JOB_COLUMNS.split(","))[:-2]
_FIELDS_SQL = ", ".join(_FIELDS)


# A new job that has no lease, end, expiry or not_before yet (most submits) goes in without those four columns, and
# with its request id as '' for NULLIF to make NULL: sqlite3 sends every None parameter through its adapter lookup
# (which formats an AttributeError and clears it), about 3,000 instructions each; the five per job were 3% of a
# batch submit's instructions (callgrind). The row holds the same values either way.
FRESH_JOB_COLUMNS = "owner, state, priority, queue_seq, request_id, fence, fair_round, body, id"
FRESH_JOB_INSERT = f"INSERT INTO jobs ({FRESH_JOB_COLUMNS}) VALUES (?,?,?,?,NULLIF(?, ''),?,?,?,?)"
JOB_INSERT = f"INSERT INTO jobs ({JOB_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"


def insert_row(job: JobRecord) -> tuple[str, tuple[object, ...]]:
    """The statement that inserts a new job and its values: FRESH_JOB_INSERT when it can, else JOB_INSERT."""
    if job.lease_until is None and job.end_time is None and job.expire_time is None and job.not_before is None:
        return FRESH_JOB_INSERT, (
            job.owner,
            job.state.value,
            job.priority,
            job.queue_seq,
            job.request_id,
            job.fence,
            job.fair_round,
            codec.record_json(job),
            job.id,
        )
    return JOB_INSERT, job_row(job)


def job_row(job: JobRecord) -> tuple[object, ...]:
    """The jobs table's columns of a record, in JOB_COLUMNS order with the id last (for INSERT and UPDATE alike)."""
    return (
        job.owner,
        job.state.value,
        job.priority,
        job.queue_seq,
        job.request_id or None,
        job.fence,
        job.lease_until,
        job.end_time,
        job.expire_time,
        job.fair_round,
        job.not_before,
        codec.record_json(job),
        job.id,
    )
