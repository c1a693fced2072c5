"""The embedded default store: one SQLite file in WAL mode.

Calls run on the event loop thread on purpose: a WAL commit with synchronous=NORMAL takes tens of
microseconds, less than a hop to a worker thread would, and one connection used from one thread needs no
locking. synchronous=NORMAL in WAL mode survives a killed process (only an OS crash can lose the last commits).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

from services.scheduler import codec
from services.scheduler.feed import ChangeFeed
from services.scheduler.model import (
    Admission,
    AdmissionSnapshot,
    Bucket,
    EventKind,
    JobEvent,
    JobNotFound,
    JobRecord,
    JobState,
    NewEvent,
    OwnerUsage,
    QueueCounts,
    StaleAttempt,
    Timing,
)
from services.scheduler.store.base import (
    TIMING_SAMPLES,
    WORKER_TTL_SECONDS,
    AdmissionRequestKeys,
    Change,
    Decide,
    DecideRelease,
    timing_of,
)
from services.scheduler.store.sqlite_schema import migrate


class SqliteJobStore:
    """JobStore on one SQLite file."""

    shared = False  # one scheduler process owns the file

    def __init__(self, path: Path, feed: ChangeFeed) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
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
        self.path = path

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        queued, next_seq = Counter(self._queued), self._next_seq
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            self._queued, self._next_seq = queued, next_seq  # what the rolled-back writes counted goes too
            raise
        self._db.execute("COMMIT")

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

    def _save(self, job: JobRecord, *, insert: bool = False) -> None:
        values = (
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
            codec.dumps(codec.record_to_dict(job)),
            job.id,
        )
        if insert:
            self._db.execute(
                "INSERT INTO inputs (job_id, data) VALUES (?,?)", (job.id, codec.input_to_bytes(job.input))
            )
        if job.result is not None and job.state is JobState.SUCCEEDED:
            self._db.execute("INSERT OR IGNORE INTO results (job_id, data) VALUES (?,?)", (job.id, job.result))
        if job.state is JobState.SUCCEEDED and job.cache_key:
            self._db.execute(
                "INSERT INTO cache (owner, key, job_id) VALUES (?,?,?)"
                " ON CONFLICT(owner, key) DO UPDATE SET job_id = excluded.job_id",
                (job.owner, job.cache_key, job.id),
            )
        if insert:
            self._db.execute(
                "INSERT INTO jobs (owner, state, priority, queue_seq, request_id, fence, lease_until, end_time,"
                " expire_time, fair_round, not_before, body, id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                values,
            )
        else:
            self._db.execute(
                "UPDATE jobs SET owner=?, state=?, priority=?, queue_seq=?, request_id=?, fence=?,"
                " lease_until=?, end_time=?, expire_time=?, fair_round=?, not_before=?, body=? WHERE id=?",
                values,
            )

    def _write_events(self, stored: list[JobEvent]) -> None:
        self._db.executemany(
            "INSERT INTO events (job_id, seq, time, kind, data) VALUES (?,?,?,?,?)",
            [(e.job_id, e.sequence, e.time, e.kind.value, codec.dumps(e.data)) for e in stored],
        )

    def _append(self, job: JobRecord, events: list[NewEvent], now: float) -> list[JobEvent]:
        stored = []
        for event in events:
            job.last_sequence += 1
            stored.append(JobEvent(job.id, job.last_sequence, now, event.kind, event.data))
        self._write_events(stored)
        timings = [e.timing for e in events if e.timing is not None]
        if timings:
            self._db.executemany(
                "INSERT INTO timings (key, at, seconds) VALUES (?,?,?)", [(k, now, s) for k, s in timings]
            )
        return stored

    def _moved(self, priority: int, before: JobState | None, after: JobState) -> None:
        """Keeps the queued counts in step with one job's change of state."""
        self._queued[priority] += (after is JobState.QUEUED) - (before is JobState.QUEUED)

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
        row = self._db.execute(
            "SELECT round FROM rounds WHERE priority = ? AND owner = ?", (priority, owner)
        ).fetchone()
        return int(row[0]) if row else None

    def _set_round(self, priority: int, owner: str, value: int) -> None:
        self._db.execute(
            "INSERT INTO rounds (priority, owner, round) VALUES (?,?,?)"
            " ON CONFLICT(priority, owner) DO UPDATE SET round = excluded.round",
            (priority, owner, value),
        )

    def _cached(self, owner: str, cache_key: str) -> JobRecord | None:
        if not cache_key:
            return None
        found = self._load_whole("j.id = (SELECT job_id FROM cache WHERE owner = ? AND key = ?)", (owner, cache_key))
        return found[0] if found else None

    def _snapshot(
        self, owner: str, priority: int, depends_on: Collection[str], cache_key: str = "", count_pending: bool = True
    ) -> AdmissionSnapshot:
        """What an admission decision reads, inside the write transaction (so it cannot change under it)."""
        pending = 0
        if count_pending:
            (pending,) = self._db.execute(
                "SELECT COUNT(*) FROM jobs WHERE owner = ? AND state IN ('QUEUED', 'SCHEDULED', 'WAITING')", (owner,)
            ).fetchone()
        depth = sum(self._queued.values())
        row = self._db.execute("SELECT tokens, updated FROM buckets WHERE owner = ?", (owner,)).fetchone()
        return AdmissionSnapshot(
            dependencies={dep_id: self._load(dep_id) for dep_id in depends_on},
            pending=int(pending),
            depth=int(depth),
            bucket=Bucket(float(row[0]), float(row[1])) if row else None,
            serving_round=self._round(priority, "") or 0,
            owner_round=self._round(priority, owner),
            cached=self._cached(owner, cache_key),
        )

    def _apply(self, admission: Admission, now: float, *, insert: bool) -> JobRecord:
        """Writes an admission decision (inside the caller's transaction): the record, its events, its place in
        the queue, the owner's round and bucket, its dependencies."""
        job = admission.job
        assert job is not None
        events = list(admission.events)
        if admission.queued_event is not None and job.state is JobState.QUEUED:
            job.queue_seq = self._next_seq
            self._next_seq += 1
            self._set_round(job.priority, job.owner, job.fair_round)
            events.append(admission.queued_event(self._new_position(job)))
        self._moved(job.priority, None, job.state)  # a new job, or a delayed or waiting one: never queued before
        if admission.bucket is not None:
            self._db.execute(
                "INSERT INTO buckets (owner, tokens, updated) VALUES (?,?,?)"
                " ON CONFLICT(owner) DO UPDATE SET tokens = excluded.tokens, updated = excluded.updated",
                (job.owner, admission.bucket.tokens, admission.bucket.updated),
            )
        if insert:
            stored = []
            for event in events:
                job.last_sequence += 1
                stored.append(JobEvent(job.id, job.last_sequence, now, event.kind, event.data))
            self._save(job, insert=True)
            self._write_events(stored)
            if job.depends_on:
                self._db.executemany(
                    "INSERT INTO deps (job_id, depends_on) VALUES (?,?)", [(job.id, d) for d in job.depends_on]
                )
        else:
            self._append(job, events, now)
            self._save(job)
        return job

    # --- JobStore ------------------------------------------------------------------------------------------

    async def open(self) -> None:
        """Nothing to connect: the file was opened with the store."""

    def _admit(self, request: AdmissionRequestKeys, decide: Decide) -> tuple[JobRecord, bool]:
        """One admission, inside the caller's transaction."""
        existing = None
        if request.request_id:
            earlier = self._load_whole("j.owner = ? AND j.request_id = ?", (request.owner, request.request_id))
            existing = earlier[0] if earlier else None
        if existing is not None:
            snapshot = AdmissionSnapshot(existing=existing)
        else:
            snapshot = self._snapshot(
                request.owner, request.priority, request.depends_on, request.cache_key, request.count_pending
            )
        admission = decide(snapshot)
        if admission.job is None:
            assert admission.existing is not None
            return admission.existing, False
        return self._apply(admission, admission.job.create_time, insert=True), True

    async def admit(self, request: AdmissionRequestKeys, decide: Decide) -> tuple[JobRecord, bool]:
        return (await self.admit_many([(request, decide)]))[0]

    async def admit_many(self, requests: list[tuple[AdmissionRequestKeys, Decide]]) -> list[tuple[JobRecord, bool]]:
        with self._tx():
            done = [self._admit(request, decide) for request, decide in requests]
        for job, created in done:
            if created:
                self._feed.job_changed(job.id)
        if any(created for _, created in done):
            self._feed.queue_changed()
        return done

    async def get(self, job_id: str) -> JobRecord | None:
        found = self._load_whole("j.id = ?", (job_id,))
        return found[0] if found else None

    async def list_jobs(
        self, *, owner: str | None, states: Collection[JobState], limit: int, before_id: str | None
    ) -> list[JobRecord]:
        clauses, params = [], []
        if owner is not None:
            clauses.append("owner = ?")
            params.append(owner)
        if states:
            clauses.append(f"state IN ({','.join('?' * len(states))})")
            params.extend(s.value for s in states)
        if before_id:
            clauses.append("id < ?")
            params.append(before_id)
        where = " AND ".join(f"j.{c}" for c in clauses) or "1"
        return self._load_whole(where, (*params, limit), "ORDER BY j.id DESC LIMIT ?")

    async def events(self, job_id: str, after_sequence: int, limit: int = 1000) -> list[JobEvent]:
        rows = self._db.execute(
            "SELECT seq, time, kind, data FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (job_id, after_sequence, limit),
        ).fetchall()
        return [JobEvent(job_id, seq, t, EventKind(kind), codec.loads(data)) for seq, t, kind, data in rows]

    async def position(self, job: JobRecord) -> int:
        return self._position(job) if job.state is JobState.QUEUED else 0

    async def claim(
        self, *, worker: str, now: float, lease_seconds: float, limit: int, start: Change
    ) -> list[JobRecord]:
        claimed: list[JobRecord] = []
        with self._tx():
            running: dict[str, int] | None = None
            # Walk the queue in dispatch order; an owner at their running cap is passed over, not blocking
            # others. The scan is bounded so a queue full of capped owners costs little per claim.
            rows = self._db.execute(
                "SELECT j.owner, json_extract(j.body, '$.max_running'), j.body, i.data"
                " FROM jobs j INDEXED BY jobs_queue LEFT JOIN inputs i ON i.job_id = j.id"
                " WHERE j.state = 'QUEUED' ORDER BY j.priority DESC, j.fair_round, j.queue_seq LIMIT ?",
                (max(limit * 16, 256),),
            ).fetchall()
            for owner, max_running, body, given in rows:
                if len(claimed) >= limit:
                    break
                if max_running:
                    if running is None:
                        running = dict(
                            self._db.execute("SELECT owner, COUNT(*) FROM jobs WHERE state = 'RUNNING' GROUP BY owner")
                        )
                    if running.get(owner, 0) >= max_running:
                        continue
                job = codec.record_from_dict(codec.loads(body), given)
                events = start(job)
                self._append(job, events, now)
                self._save(job)
                if (self._round(job.priority, "") or 0) < job.fair_round:
                    self._set_round(job.priority, "", job.fair_round)
                if running is not None:
                    running[owner] = running.get(owner, 0) + 1
                claimed.append(job)
                self._moved(job.priority, JobState.QUEUED, job.state)
        for job in claimed:
            self._feed.job_changed(job.id)
        if claimed:
            self._feed.queue_changed()
        return claimed

    async def release(self, now: float, decide: DecideRelease) -> int:
        changed: list[str] = []
        with self._tx():
            rows = self._db.execute(
                "SELECT body FROM jobs WHERE state = 'SCHEDULED' AND not_before <= ?"
                " UNION ALL SELECT w.body FROM jobs w WHERE w.state = 'WAITING' AND NOT EXISTS ("
                "   SELECT 1 FROM deps d JOIN jobs j ON j.id = d.depends_on"
                "   WHERE d.job_id = w.id AND j.state NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED'))",
                (now,),
            ).fetchall()
            for (body,) in rows:
                job = codec.record_from_dict(codec.loads(body))
                snapshot = AdmissionSnapshot(
                    dependencies={dep_id: self._load(dep_id) for dep_id in job.depends_on},
                    serving_round=self._round(job.priority, "") or 0,
                    owner_round=self._round(job.priority, job.owner),
                )
                admission = decide(job, snapshot)
                if admission.job is not None:
                    self._apply(admission, now, insert=False)
                    changed.append(job.id)
        for job_id in changed:
            self._feed.job_changed(job_id)
        if changed:
            self._feed.queue_changed()
        return len(changed)

    async def owner_usage(self, owner: str) -> OwnerUsage:
        counts = dict(
            self._db.execute(
                "SELECT state, COUNT(*) FROM jobs WHERE owner = ?"
                " AND state IN ('QUEUED', 'SCHEDULED', 'WAITING', 'RUNNING') GROUP BY state",
                (owner,),
            )
        )
        return OwnerUsage(pending=sum(n for s, n in counts.items() if s != "RUNNING"), running=counts.get("RUNNING", 0))

    async def transition(self, job_id: str, fence: int | None, change: Change, now: float) -> list[JobEvent]:
        with self._tx():
            job = self._load(job_id)
            if job is None:
                raise JobNotFound(job_id)
            if fence is not None and job.fence != fence:
                raise StaleAttempt(f"job {job_id}: fence {fence} is stale (now {job.fence})")
            before = job.state
            was_queued = before is JobState.QUEUED
            events = change(job)
            self._moved(job.priority, before, job.state)
            stored = self._append(job, events, now)
            self._save(job)
        self._feed.job_changed(job_id)
        if was_queued or job.state is JobState.QUEUED:
            self._feed.queue_changed()
        return stored

    async def renew_leases(self, held: dict[str, int], until: float) -> set[str]:
        lost: set[str] = set()
        with self._tx():
            for job_id, fence in held.items():
                cur = self._db.execute(
                    "UPDATE jobs SET lease_until = ?, body = json_set(body, '$.lease_until', ?)"
                    " WHERE id = ? AND fence = ? AND state = 'RUNNING'",
                    (until, until, job_id, fence),
                )
                if cur.rowcount == 0:
                    lost.add(job_id)
        return lost

    async def expired_leases(self, now: float) -> list[str]:
        rows = self._db.execute("SELECT id FROM jobs WHERE state = 'RUNNING' AND lease_until < ?", (now,)).fetchall()
        return [r[0] for r in rows]

    async def sweep(self, now: float) -> int:
        with self._tx():
            ids = [r[0] for r in self._db.execute("SELECT id FROM jobs WHERE expire_time < ?", (now,))]
            self._db.executemany("DELETE FROM events WHERE job_id = ?", [(i,) for i in ids])
            self._db.executemany("DELETE FROM deps WHERE job_id = ?", [(i,) for i in ids])
            self._db.executemany("DELETE FROM cache WHERE job_id = ?", [(i,) for i in ids])
            self._db.executemany("DELETE FROM inputs WHERE job_id = ?", [(i,) for i in ids])
            self._db.executemany("DELETE FROM results WHERE job_id = ?", [(i,) for i in ids])
            self._db.executemany("DELETE FROM jobs WHERE id = ?", [(i,) for i in ids])
            keys = [r[0] for r in self._db.execute("SELECT DISTINCT key FROM timings")]
            for key in keys:
                self._db.execute(
                    "DELETE FROM timings WHERE key = ? AND at < (SELECT at FROM timings WHERE key = ?"
                    " ORDER BY at DESC LIMIT 1 OFFSET ?)",
                    (key, key, TIMING_SAMPLES),
                )
            self._db.execute("DELETE FROM workers WHERE seen < ?", (now - WORKER_TTL_SECONDS,))
        return len(ids)

    async def counts(self, now: float) -> QueueCounts:
        counts = QueueCounts()
        for priority, n in self._db.execute(
            "SELECT priority, COUNT(*) FROM jobs WHERE state = 'QUEUED' GROUP BY priority"
        ):
            counts.queued_by_priority[int(priority)] = int(n)
        for state, n in self._db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state"):
            counts.by_state[JobState(state)] = int(n)
        row = self._db.execute("SELECT COUNT(*) FROM jobs WHERE end_time > ?", (now - 60.0,)).fetchone()
        counts.finished_last_minute = int(row[0])
        row = self._db.execute(
            "SELECT COALESCE(SUM(slots), 0) FROM workers WHERE seen > ?", (now - WORKER_TTL_SECONDS,)
        ).fetchone()
        counts.workers = int(row[0])
        return counts

    async def timings(self) -> dict[str, Timing]:
        found: dict[str, Timing] = {}
        keys = [r[0] for r in self._db.execute("SELECT DISTINCT key FROM timings")]
        for key in keys:
            samples = [
                r[0]
                for r in self._db.execute(
                    "SELECT seconds FROM timings WHERE key = ? ORDER BY at DESC LIMIT ?",
                    (key, TIMING_SAMPLES),
                )
            ]
            found[key] = timing_of(key, samples)
        return found

    async def record_timing(self, key: str, seconds: float, now: float) -> None:
        with self._tx():
            self._db.execute("INSERT INTO timings (key, at, seconds) VALUES (?,?,?)", (key, now, seconds))

    async def heartbeat(self, worker: str, slots: int, now: float) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO workers (id, slots, seen) VALUES (?,?,?)"
                " ON CONFLICT(id) DO UPDATE SET slots = excluded.slots, seen = excluded.seen",
                (worker, slots, now),
            )

    async def close(self) -> None:
        self._db.close()
