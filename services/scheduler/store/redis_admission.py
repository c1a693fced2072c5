"""The Redis store's admission: submits (one or a batch) and releases, decided by the core on a snapshot read in
one pipelined round trip and written with one GUARDED script, a compare-and-set on what the decision read
(re-read and re-decided on conflict). RedisJobStore inherits it; no rule lives here."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from services.scheduler import codec
from services.scheduler.model import (
    PENDING_STATES,
    Admission,
    AdmissionSnapshot,
    Bucket,
    JobRecord,
    JobState,
)
from services.scheduler.store import redis_scripts as scripts
from services.scheduler.store.base import AdmissionRequestKeys, Decide, DecideRelease
from services.scheduler.store.redis_claim import QueuedRecords
from services.scheduler.store.redis_guarded import Commands, Guards, Outcome
from services.scheduler.store.redis_relay import ChangeRelay
from services.scheduler.store.redis_scripts import (
    MAX_CONFLICTS,
    StoreContention,
    pack_record,
    text,
    unpack_record,
    write,
)

PENDING = sorted(s.value for s in PENDING_STATES)


def _bucket_text(bucket: Bucket | None) -> str:
    return "" if bucket is None else f"{bucket.tokens!r} {bucket.updated!r}"


def _records(ids: Collection[str], bodies: list[Any]) -> dict[str, JobRecord | None]:
    """Job ids with their records as read (None for the missing)."""
    return {i: unpack_record(b) if isinstance(b, bytes) else None for i, b in zip(ids, bodies, strict=False)}


@dataclass(frozen=True)
class Places:
    """A submit's order, taken with its snapshot, and the queued jobs ahead of it in each round it may be given."""

    seq: int
    ahead: dict[int, int]  # fair round -> queued jobs ahead of a new job in it

    def of(self, fair_round: int) -> tuple[int, int] | None:
        """(submit order, jobs ahead) for the round the core gave the job; None when it was not counted."""
        found = self.ahead.get(fair_round)
        return None if found is None else (self.seq, found)


@dataclass
class BatchSoFar:
    """What the decisions of a batch so far (one owner's) change in the snapshots of the ones after them."""

    pending: int = 0
    queued: int = 0
    bucket: Bucket | None = None
    rounds: dict[int, int] = field(default_factory=dict)  # priority -> the owner's last round there
    requests: dict[str, JobRecord] = field(default_factory=dict)  # request_id -> the job the batch admitted for it

    def add(self, admission: Admission) -> None:
        job = admission.job
        assert job is not None
        if job.request_id:
            self.requests[job.request_id] = job
        self.pending += job.state in PENDING_STATES
        if job.state is JobState.QUEUED:
            self.queued += 1
            self.rounds[job.priority] = job.fair_round
        self.bucket = admission.bucket or self.bucket

    def advance(self, snapshot: AdmissionSnapshot, request: AdmissionRequestKeys) -> AdmissionSnapshot:
        """The snapshot as it will be once the decisions so far are written (a request_id the batch already
        used names that job, as a stored one would)."""
        earlier = self.requests.get(request.request_id) if request.request_id else None
        if earlier is not None:
            return AdmissionSnapshot(existing=earlier)
        priority = request.priority
        return dataclasses.replace(
            snapshot,
            pending=snapshot.pending + self.pending,
            depth=snapshot.depth + self.queued,
            bucket=self.bucket or snapshot.bucket,
            owner_round=self.rounds.get(priority, snapshot.owner_round),
        )


def _tier(priority: int) -> str:
    """The rounds-hash prefix of a priority level (as in model.order_key)."""
    return f"{99 - priority:02d}:"


class RedisAdmission:
    """Submits and releases for RedisJobStore (which sets these attributes up)."""

    keys: scripts.Keys
    _redis: aioredis.Redis
    _guarded: Any  # the registered GUARDED script (its calls of one loop turn go in one round trip)
    _relay: ChangeRelay
    _owner_locks: dict[str, asyncio.Lock]
    _queued: QueuedRecords  # records of queued jobs as written: their claim can start them in one round trip

    async def get(self, job_id: str) -> JobRecord | None:
        raise NotImplementedError

    async def _apply(self, guards: Guards, commands: Commands) -> tuple[Outcome, str]:
        """Runs `commands` if every guard holds, atomically."""
        outcome, detail = await self._guarded(args=guards.args(commands))
        return Outcome(text(outcome)), text(detail)

    # --- admission -----------------------------------------------------------------------------------------

    async def _snapshot(self, request: AdmissionRequestKeys) -> tuple[AdmissionSnapshot, Places | None]:
        """What a submit's decision reads, and its submit order and places, in one pipelined round trip."""
        return (await self._snapshots([request], placed=True))[0]

    async def _snapshots(
        self, requests: list[AdmissionRequestKeys], *, placed: bool = False
    ) -> list[tuple[AdmissionSnapshot, Places | None]]:
        """What each submit's decision reads, all in one pipelined round trip, each key read once however many
        submits of the batch need it (more only for a repeated request_id or a cache hit, which read that job).
        `placed` (one submit): also takes its submit order and counts its place in each round it may be given,
        so that writing it needs no further read (a batch places all its jobs at once, after deciding)."""
        k = self.keys
        plan: dict[tuple[str, ...], int] = {}  # a read -> its reply's index

        def read(*what: str) -> int:
            return plan.setdefault(what, len(plan))

        wanted = []
        for r in requests:
            tier = _tier(r.priority)
            wanted.append(
                (
                    read("get", k.request(r.owner, r.request_id)) if r.request_id else None,
                    read("mget", *(k.job(d) for d in r.depends_on)) if r.depends_on else None,
                    read("hmget", k.usage, *(f"{s}:{r.owner}" for s in PENDING)) if r.count_pending else None,
                    read("hget", k.buckets, r.owner) if r.read_bucket else None,
                    # One submit reads the queue's length and takes its order in the script that counts its place.
                    read("submit_places", tier, r.owner) if placed else read("hmget", k.rounds, tier, tier + r.owner),
                    None if placed else read("zcard", k.queue),
                    read("get", k.cache(r.owner, r.cache_key)) if r.cache_key else None,
                )
            )
        async with self._redis.pipeline(transaction=False) as pipe:
            for command, key, *rest in plan:
                if command == "mget":
                    pipe.mget([key, *rest])
                elif command == "hmget":
                    pipe.hmget(key, rest)
                elif command == "submit_places":
                    # EVAL, not a registered Script: a pipeline asks SCRIPT EXISTS first for those, a round trip.
                    pipe.eval(scripts.SUBMIT_PLACES, 3, k.rounds, k.queue, k.seq, key, *rest)
                else:
                    getattr(pipe, command)(key, *rest)
            replies = await pipe.execute()
        # Submits that read the same keys (most of a batch: one owner, one priority) share one snapshot as read:
        # the decisions get it advanced by the batch so far (BatchSoFar.advance), never this one itself.
        made: dict[tuple[int | None, ...], tuple[AdmissionSnapshot, Places | None]] = {}
        for r, at in zip(requests, wanted, strict=True):
            if at not in made:
                made[at] = await self._snapshot_of(r, [None if i is None else replies[i] for i in at])
        return [made[at] for at in wanted]

    async def _snapshot_of(
        self, request: AdmissionRequestKeys, replies: list[Any]
    ) -> tuple[AdmissionSnapshot, Places | None]:
        earlier, bodies, pending, bucket, rounds, depth, cached_id = replies
        places = None
        if depth is not None:
            serving, last = rounds
        else:  # SUBMIT_PLACES answered
            serving, last = (text(x) or None for x in rounds[:2])
            ahead = {int(serving or 0): int(rounds[2])}
            if last is not None:
                ahead[int(last) + 1] = int(rounds[3])
            depth = rounds[4]
            places = Places(int(rounds[5]), ahead)
        deps = list(request.depends_on)
        bodies = bodies or []
        existing = await self.get(text(earlier)) if request.request_id and earlier is not None else None
        cached = await self.get(text(cached_id)) if request.cache_key and cached_id is not None else None
        snapshot = AdmissionSnapshot(
            existing=existing,
            dependencies=_records(deps, bodies),
            pending=sum(int(n or 0) for n in pending or ()),
            depth=int(depth),
            bucket=Bucket(*(float(x) for x in text(bucket).split())) if bucket is not None else None,
            serving_round=int(serving or 0),
            owner_round=int(last) if last is not None else None,
            cached=cached,
        )
        return snapshot, places

    async def _place(self, jobs: list[JobRecord]) -> list[tuple[int, int]]:
        """Submit orders for jobs entering the queue, and how many queued jobs are ahead of each (one round trip;
        a concurrent submit may shift a place by one, as it would a moment later anyway: the live position is
        always recounted)."""
        if not jobs:
            return []
        k = self.keys
        bounds = [f"({_tier(job.priority)[:2]}{job.fair_round + 1:012d}" for job in jobs]
        last, *counted = await self._redis.eval(scripts.PLACES, 2, k.seq, k.queue, *bounds)
        first = int(last) - len(jobs) + 1
        return [(first + i, int(n)) for i, n in enumerate(counted)]

    async def _writes(
        self,
        admission: Admission,
        now: float,
        *,
        new: bool,
        ahead: int = 0,
        placed: tuple[int, int] | None = None,
        in_batch: bool = False,
        records: dict[str, bytes] | None = None,
    ) -> tuple[Guards, Commands, JobRecord]:
        """The guards and commands that apply an admission decision. A job entering the queue takes its submit
        order and place from `placed`, or counts them now."""
        job = admission.job
        assert job is not None
        k, g, snap, tier = self.keys, admission.guard, admission.snapshot, _tier(job.priority)
        guards, commands = Guards(), Commands()
        if new and job.request_id:
            guards.absent(k.request(job.owner, job.request_id))
        if g.pending_at_most is not None:
            guards.sum_at_most(k.usage, [f"{s}:{job.owner}" for s in PENDING], g.pending_at_most)
        if g.depth_at_most is not None:
            guards.card_at_most(k.queue, g.depth_at_most)
        if g.bucket:
            guards.equals(k.buckets, job.owner, _bucket_text(snap.bucket))
        if g.owner_round:
            guards.equals(k.rounds, tier + job.owner, "" if snap.owner_round is None else str(snap.owner_round))
        if not new:
            guards.length(k.events(job.id), job.last_sequence)
        events = list(admission.events)
        queued = admission.queued_event is not None and job.state is JobState.QUEUED
        if queued:
            assert admission.queued_event is not None
            seq, counted = placed if placed is not None else (await self._place([job]))[0]
            job.queue_seq = seq
            events.append(admission.queued_event(counted + ahead + 1))
            commands.hset(k.rounds, tier + job.owner, str(job.fair_round))
        if admission.bucket is not None:
            commands.hset(k.buckets, job.owner, _bucket_text(admission.bucket))
        before = job.state if new else (snap.existing.state if snap.existing else JobState.WAITING)
        write(commands, k, job, events, before, now, new=new, records=records)
        if new:
            commands.set(k.input(job.id), codec.input_to_bytes(job.input))
        if new and job.state.terminal:  # answered from the cache
            commands.hincrby(k.finished, job.state.value, 1)
            commands.zadd(k.ended, {job.id: job.end_time if job.end_time is not None else now})
            if job.cache_key:
                commands.set(k.cache(job.owner, job.cache_key), job.id, px=scripts.cache_ttl_ms(job, now))
        elif new:
            commands.hincrby(k.usage, f"{job.state.value}:{job.owner}", 1)
            commands.zadd(k.owner(job.owner), {job.id: 0})
            if not in_batch:  # a batch (one owner's) adds it once
                commands.sadd(k.owners, job.owner)
            if job.request_id:
                commands.set(k.request(job.owner, job.request_id), job.id)
        if not in_batch:  # a batch publishes once for all its jobs
            commands.publish(k.channel, self._relay.message([job.id], queued))
        return guards, commands, job

    async def admit(self, request: AdmissionRequestKeys, decide: Decide) -> tuple[JobRecord, bool]:
        async with self._owner_locks.setdefault(request.owner, asyncio.Lock()):
            for attempt in range(MAX_CONFLICTS):
                snapshot, places = await self._snapshot(request)
                admission = decide(snapshot)
                if admission.job is None:
                    assert admission.existing is not None
                    return admission.existing, False
                placed = places.of(admission.job.fair_round) if places is not None else None
                records: dict[str, bytes] = {}
                guards, commands, job = await self._writes(
                    admission, admission.job.create_time, new=True, placed=placed, records=records
                )
                outcome, detail = await self._apply(guards, commands)
                if outcome is Outcome.APPLIED:
                    self._queued.keep_job(job, records[job.id])
                    self._relay.notify([job.id], job.state is JobState.QUEUED)
                    return job, True
                if outcome is Outcome.DUPLICATE and (earlier := await self.get(detail)) is not None:
                    return earlier, False
                # Another process's submit moved what we read first: back off a little, with jitter, so the
                # two stop colliding.
                await asyncio.sleep(random.uniform(0, 0.001 * min(attempt + 1, 20)))
        raise StoreContention(f"submit for {request.owner} kept conflicting")

    async def admit_many(self, requests: list[tuple[AdmissionRequestKeys, Decide]]) -> list[tuple[JobRecord, bool]]:
        """One GUARDED write for the whole batch. Each decision reads the first snapshot advanced by the decisions
        before it (the batch is one owner's); the guards are those of the snapshot as read."""
        if len(requests) == 1:
            return [await self.admit(*requests[0])]
        owners = {request.owner for request, _ in requests}
        assert len(owners) == 1, "a batch is one owner's"
        async with self._owner_locks.setdefault(owners.pop(), asyncio.Lock()):
            for attempt in range(MAX_CONFLICTS):
                snapshots = [snapshot for snapshot, _ in await self._snapshots([request for request, _ in requests])]
                done: list[tuple[JobRecord, bool]] = []
                decided: list[Admission] = []
                so_far = BatchSoFar()
                for (request, decide), snapshot in zip(requests, snapshots, strict=True):
                    admission = decide(so_far.advance(snapshot, request))
                    if admission.job is None:
                        assert admission.existing is not None
                        done.append((admission.existing, False))
                        continue
                    decided.append(admission)
                    so_far.add(admission)
                    done.append((admission.job, True))
                if not decided:
                    return done
                entering = [a.job for a in decided if a.enqueues and a.job is not None]
                places = dict(zip([j.id for j in entering], await self._place(entering), strict=True))
                guards, commands, queued_at = Guards(), Commands(), Counter[int]()
                for admission in decided:
                    job = admission.job
                    assert job is not None
                    ahead = sum(n for p, n in queued_at.items() if p >= job.priority)
                    g, c, _ = await self._writes(
                        admission, job.create_time, new=True, ahead=ahead, placed=places.get(job.id), in_batch=True
                    )
                    guards.merge_first(g)
                    commands.words += c.words
                    if job.state is JobState.QUEUED:
                        queued_at[job.priority] += 1
                ids = [a.job.id for a in decided if a.job is not None]
                commands.sadd(self.keys.owners, decided[0].job.owner if decided[0].job else "")
                commands.publish(self.keys.channel, self._relay.message(ids, True))
                outcome, _ = await self._apply(guards, commands)
                if outcome is Outcome.APPLIED:
                    self._relay.notify(ids, True)
                    return done
                await asyncio.sleep(random.uniform(0, 0.001 * min(attempt + 1, 20)))
        raise StoreContention("batch submit kept conflicting")

    async def release(self, now: float, decide: DecideRelease) -> int:
        due = await self._redis.zrangebyscore(self.keys.scheduled, "-inf", repr(now))
        waiting = await self._redis.smembers(self.keys.waiting)
        changed = 0
        for job_id in [text(i) for i in due] + sorted(text(i) for i in waiting):
            changed += await self._settle(job_id, decide, now)
        return changed

    async def _settle(self, job_id: str, decide: DecideRelease, now: float) -> bool:
        k = self.keys
        for _ in range(MAX_CONFLICTS):
            job = await self.get(job_id)
            if job is None or job.state not in (JobState.SCHEDULED, JobState.WAITING):
                return False
            tier = _tier(job.priority)
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.mget([k.job(d) for d in job.depends_on] or [k.job("-")])
                pipe.hmget(k.rounds, [tier, tier + job.owner])
                bodies, (serving, last) = await pipe.execute()
            snapshot = AdmissionSnapshot(
                existing=job,  # what it was: the writer indexes the job from this state
                dependencies=_records(job.depends_on, bodies),
                serving_round=int(serving or 0),
                owner_round=int(last) if last is not None else None,
            )
            admission = decide(unpack_record(pack_record(job)), snapshot)
            if admission.job is None:
                return False
            guards, commands, _ = await self._writes(admission, now, new=False)
            outcome, _ = await self._apply(guards, commands)
            if outcome is Outcome.APPLIED:
                self._relay.notify([job_id], True)
                return True
        raise StoreContention(f"release of job {job_id} kept conflicting")
