"""The embedded default store: one SQLite file in WAL mode.

Calls run on the event loop thread on purpose: a WAL commit with synchronous=NORMAL takes tens of
microseconds, less than a hop to a worker thread would, and one connection used from one thread needs no
locking. synchronous=NORMAL in WAL mode survives a killed process (only an OS crash can lose the last commits).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection

from services.scheduler import codec
from services.scheduler.model import (
    AdmissionSnapshot,
    EventKind,
    JobEvent,
    JobNotFound,
    JobRecord,
    JobState,
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
from services.scheduler.store.sqlite_admission import BatchAdmission
from services.scheduler.store.sqlite_tables import SqliteTables


class SqliteJobStore(SqliteTables):
    """JobStore on one SQLite file."""

    shared = False  # one scheduler process owns the file

    # --- JobStore ------------------------------------------------------------------------------------------

    async def open(self) -> None:
        """Nothing to connect: the file was opened with the store."""

    async def admit(self, request: AdmissionRequestKeys, decide: Decide) -> tuple[JobRecord, bool]:
        return (await self.admit_many([(request, decide)]))[0]

    async def admit_many(self, requests: list[tuple[AdmissionRequestKeys, Decide]]) -> list[tuple[JobRecord, bool]]:
        with self._tx():
            batch = BatchAdmission(self, [keys for keys, _ in requests])
            done = [batch.admit(keys, decide) for keys, decide in requests]
            batch.write()
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
            self._job_changed(job.id)
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
                before = job.state
                snapshot = AdmissionSnapshot(
                    dependencies={dep_id: self._load(dep_id) for dep_id in job.depends_on},
                    serving_round=self._round(job.priority, "") or 0,
                    owner_round=self._round(job.priority, job.owner),
                )
                admission = decide(job, snapshot)
                if admission.job is not None:
                    self._apply(admission, now, before)
                    changed.append(job.id)
        for job_id in changed:
            self._job_changed(job_id)
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
        self._job_changed(job_id)
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
            expired = self._db.execute("SELECT id, state FROM jobs WHERE expire_time < ?", (now,)).fetchall()
            ids = [job_id for job_id, _ in expired]
            self._forgotten(Counter(JobState(state) for _, state in expired))
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
        # From the counts kept with every write (one process owns the file), not counted again.
        counts.queued_by_priority.update({priority: n for priority, n in self._queued.items() if n > 0})
        counts.by_state.update({state: n for state, n in self._by_state.items() if n > 0})
        row = self._db.execute("SELECT COUNT(*) FROM jobs WHERE end_time > ?", (now - 60.0,)).fetchone()
        counts.finished_last_minute = int(row[0])
        row = self._db.execute(
            "SELECT COALESCE(SUM(slots), 0) FROM workers WHERE seen > ?", (now - WORKER_TTL_SECONDS,)
        ).fetchone()
        counts.workers = int(row[0])
        return counts

    async def timings(self) -> dict[str, Timing]:
        if self._pending_timings:
            with self._tx():
                self._flush_timings()
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
        if self._pending_timings:
            with self._tx():
                self._flush_timings()
        self._db.close()
