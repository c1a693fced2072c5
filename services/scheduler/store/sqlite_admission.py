"""Submits into the SQLite store, one or a batch, in one write transaction.

What the decisions read (request ids, the owners' waiting counts, buckets and rounds, the cache, dependencies)
is read once for the whole batch, then kept in step in memory as each job is decided, in order, so every
decision sees the jobs admitted before it exactly as a submit of its own would. The rows then go in with one
executemany per table. One process owns the file and the transaction holds its write lock, so nothing else
changes what was read until the commit.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.scheduler import codec
from services.scheduler.model import AdmissionSnapshot, Bucket, JobRecord, JobState
from services.scheduler.store.base import AdmissionRequestKeys, Decide
from services.scheduler.store.sqlite_tables import SqliteTables, insert_row

# States a job counts as waiting in (an owner's max_queued quota counts these).
PENDING_STATES = frozenset({JobState.QUEUED, JobState.SCHEDULED, JobState.WAITING})
# Host parameters per IN (...) list, well below SQLite's limit.
IN_CHUNK = 500


@dataclass
class _Owner:
    pending: int = 0
    bucket: Bucket | None = None
    bucket_changed: bool = False


@dataclass
class _Rows:
    inputs: list[tuple[str, bytearray]] = field(default_factory=list)
    # Runs of jobs that go in with the same statement, in submit order (sqlite_tables.insert_row).
    jobs: list[tuple[str, list[tuple[object, ...]]]] = field(default_factory=list)
    events: list[tuple[str, int, float, str, str]] = field(default_factory=list)
    deps: list[tuple[str, str]] = field(default_factory=list)
    results: list[tuple[str, bytes]] = field(default_factory=list)
    cache: list[tuple[str, str, str]] = field(default_factory=list)


class BatchAdmission:
    """One transaction's submits: read once, decide each in order, write all."""

    def __init__(self, tables: SqliteTables, requests: Sequence[AdmissionRequestKeys]) -> None:
        self._t = tables
        self._db = tables._db
        self._owners: dict[str, _Owner] = {}
        self._requests: dict[tuple[str, str], JobRecord] = {}
        self._rounds: dict[tuple[int, str], int | None] = {}
        self._rounds_changed: set[tuple[int, str]] = set()
        self._cached: dict[tuple[str, str], JobRecord | None] = {}
        self._deps: dict[str, JobRecord | None] = {}
        # Per priority: the highest fair round among the jobs queued before this batch, and the rounds of the
        # batch's own queued jobs (sorted), to count who sorts after a new job without a query each.
        self._queued_max_round: dict[int, int | None] = {}
        self._batch_rounds: dict[int, list[int]] = {}
        self._rows = _Rows()
        self._read(requests)

    def _read(self, requests: Sequence[AdmissionRequestKeys]) -> None:
        by_owner: dict[str, list[AdmissionRequestKeys]] = {}
        for keys in requests:
            by_owner.setdefault(keys.owner, []).append(keys)
        for owner, mine in by_owner.items():
            state = self._owners[owner] = _Owner()
            if any(k.count_pending for k in mine):
                (pending,) = self._db.execute(
                    "SELECT COUNT(*) FROM jobs WHERE owner = ? AND state IN ('QUEUED', 'SCHEDULED', 'WAITING')",
                    (owner,),
                ).fetchone()
                state.pending = int(pending)
            if any(k.read_bucket for k in mine):
                row = self._db.execute("SELECT tokens, updated FROM buckets WHERE owner = ?", (owner,)).fetchone()
                state.bucket = Bucket(float(row[0]), float(row[1])) if row else None
            names = sorted({k.request_id for k in mine if k.request_id})
            for start in range(0, len(names), IN_CHUNK):
                chunk = names[start : start + IN_CHUNK]
                where = f"j.owner = ? AND j.request_id IN ({','.join('?' * len(chunk))})"
                for job in self._t._load_whole(where, (owner, *chunk)):
                    self._requests[(owner, job.request_id)] = job
            for keys in mine:
                for pair in ((keys.priority, ""), (keys.priority, owner)):
                    if pair not in self._rounds:
                        self._rounds[pair] = self._t._round(*pair)
                if keys.cache_key and (owner, keys.cache_key) not in self._cached:
                    self._cached[(owner, keys.cache_key)] = self._t._cached(owner, keys.cache_key)
                for dep_id in keys.depends_on:
                    if dep_id not in self._deps:
                        self._deps[dep_id] = self._t._load(dep_id)

    def admit(self, keys: AdmissionRequestKeys, decide: Decide) -> tuple[JobRecord, bool]:
        """Decides one submit against what the batch read and admitted so far; keeps its rows for write()."""
        owner = self._owners[keys.owner]
        existing = self._requests.get((keys.owner, keys.request_id)) if keys.request_id else None
        if existing is not None:
            snapshot = AdmissionSnapshot(existing=existing)
        else:
            snapshot = AdmissionSnapshot(
                dependencies={dep_id: self._deps[dep_id] for dep_id in keys.depends_on} if keys.depends_on else {},
                pending=owner.pending if keys.count_pending else 0,
                depth=sum(self._t._queued.values()),
                bucket=owner.bucket,
                serving_round=self._rounds[(keys.priority, "")] or 0,
                owner_round=self._rounds[(keys.priority, keys.owner)],
                cached=self._cached.get((keys.owner, keys.cache_key)) if keys.cache_key else None,
            )
        admission = decide(snapshot)
        job = admission.job
        if job is None:
            assert admission.existing is not None
            return admission.existing, False
        now = job.create_time
        events = list(admission.events)
        if admission.queued_event is not None and job.state is JobState.QUEUED:
            job.queue_seq = self._t._next_seq
            self._t._next_seq += 1
            self._set_round(job.priority, job.owner, job.fair_round)
            events.append(admission.queued_event(self._new_position(job)))
            bisect.insort(self._batch_rounds.setdefault(job.priority, []), job.fair_round)
        self._t._moved(job.priority, None, job.state)
        if admission.bucket is not None:
            owner.bucket, owner.bucket_changed = admission.bucket, True
        if job.state in PENDING_STATES:
            owner.pending += 1
        if job.request_id:
            self._requests[(job.owner, job.request_id)] = job
        for event in events:
            job.last_sequence += 1
            self._rows.events.append((job.id, job.last_sequence, now, event.kind.value, codec.dumps(event.data)))
        self._keep(job)
        return job, True

    def _keep(self, job: JobRecord) -> None:
        rows = self._rows
        # As a bytearray, which sqlite3 binds as the same blob without looking for an adapter first (it does for
        # bytes, at a cost of some 3,000 instructions).
        rows.inputs.append((job.id, bytearray(codec.input_to_bytes(job.input))))
        if job.result is not None and job.state is JobState.SUCCEEDED:
            rows.results.append((job.id, codec.result_to_stored(job.result)))
        if job.state is JobState.SUCCEEDED and job.cache_key:
            rows.cache.append((job.owner, job.cache_key, job.id))
            self._cached[(job.owner, job.cache_key)] = job
        if job.depends_on:
            rows.deps.extend((job.id, dep_id) for dep_id in job.depends_on)
        sql, row = insert_row(job)
        if not rows.jobs or rows.jobs[-1][0] != sql:
            rows.jobs.append((sql, []))
        rows.jobs[-1][1].append(row)

    def _set_round(self, priority: int, owner: str, value: int) -> None:
        self._rounds[(priority, owner)] = value
        self._rounds_changed.add((priority, owner))

    def _new_position(self, job: JobRecord) -> int:
        """As SqliteTables._new_position, with the batch's queued jobs (not written yet) counted from memory,
        and the stored queue counted only when some job there has a later round."""
        if job.priority not in self._queued_max_round:
            row = self._db.execute(
                "SELECT fair_round FROM jobs INDEXED BY jobs_queue WHERE state = 'QUEUED' AND priority = ?"
                " ORDER BY fair_round DESC LIMIT 1",
                (job.priority,),
            ).fetchone()
            self._queued_max_round[job.priority] = int(row[0]) if row else None
        stored_max = self._queued_max_round[job.priority]
        later = 0
        if stored_max is not None and stored_max > job.fair_round:
            (count,) = self._db.execute(
                "SELECT COUNT(*) FROM jobs INDEXED BY jobs_queue"
                " WHERE state = 'QUEUED' AND priority = ? AND fair_round > ?",
                (job.priority, job.fair_round),
            ).fetchone()
            later = int(count)
        rounds = self._batch_rounds.get(job.priority, [])
        later += len(rounds) - bisect.bisect_right(rounds, job.fair_round)
        queued = self._t._queued
        higher = sum(n for p, n in queued.items() if p > job.priority)
        return higher + queued[job.priority] - later + 1

    def write(self) -> None:
        """Every row the batch decided, one executemany per table and run of jobs (inside the caller's transaction)."""
        rows, db = self._rows, self._db
        statements: list[tuple[str, Sequence[tuple[object, ...]]]] = [
            ("INSERT INTO inputs (job_id, data) VALUES (?,?)", rows.inputs),
            ("INSERT OR IGNORE INTO results (job_id, data) VALUES (?,?)", rows.results),
            (
                "INSERT INTO cache (owner, key, job_id) VALUES (?,?,?)"
                " ON CONFLICT(owner, key) DO UPDATE SET job_id = excluded.job_id",
                rows.cache,
            ),
            *rows.jobs,
            ("INSERT INTO events (job_id, seq, time, kind, data) VALUES (?,?,?,?,?)", rows.events),
            ("INSERT INTO deps (job_id, depends_on) VALUES (?,?)", rows.deps),
        ]
        for sql, values in statements:
            if values:  # most submits have no result, cache entry or dependency: no statement for those
                db.executemany(sql, values)
        for priority, owner in sorted(self._rounds_changed):
            value = self._rounds[(priority, owner)]
            assert value is not None
            self._t._set_round(priority, owner, value)
        for name, state in self._owners.items():
            if state.bucket_changed and state.bucket is not None:
                db.execute(
                    "INSERT INTO buckets (owner, tokens, updated) VALUES (?,?,?)"
                    " ON CONFLICT(owner) DO UPDATE SET tokens = excluded.tokens, updated = excluded.updated",
                    (name, state.bucket.tokens, state.bucket.updated),
                )
