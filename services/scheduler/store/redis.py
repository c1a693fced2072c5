"""The shared store: Redis, for several scheduler replicas and dispatchers (`SKILLBRIDGE_STORE=redis://...`).

A job is one string (its record as compact JSON, zlib-compressed when that is smaller) and a list of events
(sequence n at index n-1; the list's length is the job's version). Sorted sets index it: the queue (members in
dispatch order: priority, fair round, submit order), leases (by lease_until), scheduled (by not_before), expiry,
recent ends, and per owner its ids; a set holds the WAITING jobs and a hash per-owner counts by state.

No rule lives here. A submit or release reads a snapshot in one pipelined round trip, hands it to the core's
decision, and writes the decision with the GUARDED script: a compare-and-set on what the decision read (the
owner's round and bucket, the owner's waiting jobs and the depth not grown, the job's version), re-read and
re-decided on conflict. The claim reserves the queue head in a script that also returns the bodies, and starts
the attempts with one guarded write. Other state changes run core's change functions under WATCH/MULTI/EXEC,
through one helper.

Every commit also PUBLISHes (inside the same MULTI or script) on one channel; a subscriber task turns other
processes' messages into ChangeFeed notices, so watchers and idle dispatchers on any replica wake at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from services.scheduler import codec
from services.scheduler.feed import ChangeFeed
from services.scheduler.model import (
    PENDING_STATES,
    Admission,
    AdmissionSnapshot,
    Bucket,
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
from services.scheduler.store import redis_scripts as scripts
from services.scheduler.store.base import TIMING_SAMPLES, AdmissionRequestKeys, Change, Decide, DecideRelease
from services.scheduler.store.redis_relay import ChangeRelay
from services.scheduler.store.redis_scripts import (
    MAX_CONFLICTS,
    Commands,
    Guards,
    Outcome,
    StoreContention,
    index,
    pack_record,
    split_url,
    text,
    unpack_record,
    write,
)
from services.scheduler.store.redis_upkeep import Upkeep

DEFAULT_PREFIX = "skillbridge:"
LIST_CHUNK = 100
PENDING = sorted(s.value for s in PENDING_STATES)
T = TypeVar("T")


def _bucket_text(bucket: Bucket | None) -> str:
    return "" if bucket is None else f"{bucket.tokens!r} {bucket.updated!r}"


def _records(ids: Collection[str], bodies: list[Any]) -> dict[str, JobRecord | None]:
    """Job ids with their records as read (None for the missing)."""
    return {i: unpack_record(b) if isinstance(b, bytes) else None for i, b in zip(ids, bodies, strict=False)}


@dataclass
class BatchSoFar:
    """What the decisions of a batch so far (one owner's) change in the snapshots of the ones after them."""

    pending: int = 0
    queued: int = 0
    bucket: Bucket | None = None
    rounds: dict[int, int] = field(default_factory=dict)  # priority -> the owner's last round there

    def add(self, admission: Admission) -> None:
        job = admission.job
        assert job is not None
        self.pending += job.state in PENDING_STATES
        if job.state is JobState.QUEUED:
            self.queued += 1
            self.rounds[job.priority] = job.fair_round
        self.bucket = admission.bucket or self.bucket

    def advance(self, snapshot: AdmissionSnapshot, priority: int) -> AdmissionSnapshot:
        """The snapshot as it will be once the decisions so far are written."""
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


class RedisJobStore:
    """JobStore on Redis. `url` is redis://host:port/db, optionally with ?prefix=... for the key prefix (the
    `prefix` argument wins). With a ChangeFeed, other processes' commits are relayed to it once open() ran."""

    shared = True

    def __init__(self, url: str, feed: ChangeFeed | None = None, *, prefix: str | None = None) -> None:
        clean, url_prefix = split_url(url)
        self.prefix = prefix if prefix is not None else (url_prefix if url_prefix is not None else DEFAULT_PREFIX)
        self.keys = scripts.Keys(self.prefix)
        self._redis = aioredis.Redis.from_url(clean, socket_connect_timeout=5.0)
        self._guarded = self._redis.register_script(scripts.GUARDED)
        self._reserve = self._redis.register_script(scripts.RESERVE)
        self._upkeep = Upkeep(self._redis, self.keys)
        self._relay = ChangeRelay(self._redis, self.keys.channel, feed or ChangeFeed(), subscribe=feed is not None)
        # Submits of one owner compare-and-set the owner's round and bucket; queueing them per owner inside this
        # process keeps concurrent clients from conflicting with each other at all.
        self._owner_locks: dict[str, asyncio.Lock] = {}

    async def open(self) -> None:
        """The one connect step: subscribes to other processes' change notices (their commits from then on
        reach this process's feed). Calls work before it; they just are not relayed."""
        await self._relay.ready()

    # --- the two ways to write -----------------------------------------------------------------------------

    async def _apply(self, guards: Guards, commands: Commands) -> tuple[Outcome, str]:
        """Runs `commands` if every guard holds, atomically."""
        outcome, detail = await self._guarded(args=guards.args(commands))
        return Outcome(text(outcome)), text(detail)

    async def _optimistic(self, keys: list[str], attempt: Callable[[Any], Awaitable[T]], what: str) -> T:
        """WATCH `keys`, let `attempt` read through the pipeline and queue its writes after pipe.multi(), EXEC;
        again from the start when a watched key changed meanwhile. An attempt that queues nothing just returns."""
        for _ in range(MAX_CONFLICTS):
            async with self._redis.pipeline(transaction=True) as pipe:
                await pipe.watch(*keys)
                result = await attempt(pipe)
                if pipe.explicit_transaction:
                    try:
                        await pipe.execute()
                    except WatchError:
                        continue
                return result
        raise StoreContention(f"{what} kept conflicting")

    # --- admission -----------------------------------------------------------------------------------------

    async def _snapshot(self, request: AdmissionRequestKeys) -> AdmissionSnapshot:
        """What a submit's decision reads, in one pipelined round trip."""
        return (await self._snapshots([request]))[0]

    async def _snapshots(self, requests: list[AdmissionRequestKeys]) -> list[AdmissionSnapshot]:
        """What each submit's decision reads, all in one pipelined round trip, each key read once however many
        submits of the batch need it (more only for a repeated request_id or a cache hit, which read that job)."""
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
                    read("hmget", k.usage, *(f"{s}:{r.owner}" for s in PENDING)),
                    read("hget", k.buckets, r.owner),
                    read("zcard", k.queue),
                    read("hmget", k.rounds, tier, tier + r.owner),
                    read("get", k.cache(r.owner, r.cache_key)) if r.cache_key else None,
                )
            )
        async with self._redis.pipeline(transaction=False) as pipe:
            for command, key, *rest in plan:
                if command == "mget":
                    pipe.mget([key, *rest])
                elif command == "hmget":
                    pipe.hmget(key, rest)
                else:
                    getattr(pipe, command)(key, *rest)
            replies = await pipe.execute()
        return [
            await self._snapshot_of(r, [None if i is None else replies[i] for i in at])
            for r, at in zip(requests, wanted, strict=True)
        ]

    async def _snapshot_of(self, request: AdmissionRequestKeys, replies: list[Any]) -> AdmissionSnapshot:
        earlier, bodies, pending, bucket, depth, (serving, last), cached_id = replies
        deps = list(request.depends_on)
        bodies = bodies or []
        existing = await self.get(text(earlier)) if request.request_id and earlier is not None else None
        cached = await self.get(text(cached_id)) if request.cache_key and cached_id is not None else None
        return AdmissionSnapshot(
            existing=existing,
            dependencies=_records(deps, bodies),
            pending=sum(int(n or 0) for n in pending),
            depth=int(depth),
            bucket=Bucket(*(float(x) for x in text(bucket).split())) if bucket is not None else None,
            serving_round=int(serving or 0),
            owner_round=int(last) if last is not None else None,
            cached=cached,
        )

    async def _place(self, jobs: list[JobRecord]) -> list[tuple[int, int]]:
        """Submit orders for jobs entering the queue, and how many queued jobs are ahead of each (one round trip;
        a concurrent submit may shift a place by one, as it would a moment later anyway: the live position is
        always recounted)."""
        if not jobs:
            return []
        k = self.keys
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.incrby(k.seq, len(jobs))
            for job in jobs:
                pipe.zlexcount(k.queue, "-", f"({_tier(job.priority)[:2]}{job.fair_round + 1:012d}")
            last, *counted = await pipe.execute()
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
        write(commands, k, job, events, before, now, new=new)
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
                admission = decide(await self._snapshot(request))
                if admission.job is None:
                    assert admission.existing is not None
                    return admission.existing, False
                guards, commands, job = await self._writes(admission, admission.job.create_time, new=True)
                outcome, detail = await self._apply(guards, commands)
                if outcome is Outcome.APPLIED:
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
                snapshots = await self._snapshots([request for request, _ in requests])
                done: list[tuple[JobRecord, bool]] = []
                decided: list[Admission] = []
                so_far = BatchSoFar()
                for (request, decide), snapshot in zip(requests, snapshots, strict=True):
                    admission = decide(so_far.advance(snapshot, request.priority))
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

    # --- reads ---------------------------------------------------------------------------------------------

    async def get(self, job_id: str) -> JobRecord | None:
        k = self.keys
        body, given, result = await self._redis.mget([k.job(job_id), k.input(job_id), k.result(job_id)])
        return unpack_record(body, given, result) if isinstance(body, bytes) else None

    async def list_jobs(
        self, *, owner: str | None, states: Collection[JobState], limit: int, before_id: str | None
    ) -> list[JobRecord]:
        owners = [owner] if owner is not None else sorted(text(m) for m in await self._redis.smembers(self.keys.owners))
        found: list[JobRecord] = []
        for name in owners:
            found.extend(await self._owner_page(name, set(states), limit, before_id))
        found.sort(key=lambda j: j.id, reverse=True)
        return found[:limit]

    async def _owner_page(
        self, owner: str, states: set[JobState], limit: int, before_id: str | None
    ) -> list[JobRecord]:
        """Up to `limit` of one owner's jobs older than before_id, newest first, in the wanted states."""
        page: list[JobRecord] = []
        upper = f"({before_id}" if before_id else "+"
        chunk = max(limit, LIST_CHUNK) if states else limit
        while len(page) < limit:
            ids = [text(i) for i in await self._redis.zrevrangebylex(self.keys.owner(owner), upper, "-", 0, chunk)]
            if not ids:
                break
            k = self.keys
            read = await self._redis.mget([key for i in ids for key in (k.job(i), k.input(i), k.result(i))])
            for body, given, result in zip(read[0::3], read[1::3], read[2::3], strict=True):
                if isinstance(body, bytes):
                    job = unpack_record(body, given, result)
                    if not states or job.state in states:
                        page.append(job)
            if len(ids) < chunk:
                break
            upper = f"({ids[-1]}"
        return page[:limit]

    async def events(self, job_id: str, after_sequence: int, limit: int = 1000) -> list[JobEvent]:
        start = max(after_sequence, 0)
        rows = await self._redis.lrange(self.keys.events(job_id), start, start + limit - 1)
        found = []
        for offset, row in enumerate(rows, start=start + 1):
            at, kind, data = codec.loads(row)
            found.append(JobEvent(job_id, offset, at, EventKind(kind), data))
        return found

    async def position(self, job: JobRecord) -> int:
        if job.state is not JobState.QUEUED:
            return 0
        rank = await self._redis.zrank(self.keys.queue, scripts.member(job))
        return int(rank) + 1 if isinstance(rank, int) else 0

    async def owner_usage(self, owner: str) -> OwnerUsage:
        states = ("QUEUED", "SCHEDULED", "WAITING", "RUNNING")
        counts = [int(n or 0) for n in await self._redis.hmget(self.keys.usage, [f"{s}:{owner}" for s in states])]
        return OwnerUsage(pending=sum(counts[:3]), running=counts[3])

    # --- the running side ----------------------------------------------------------------------------------

    async def claim(
        self, *, worker: str, now: float, lease_seconds: float, limit: int, start: Change
    ) -> list[JobRecord]:
        if limit <= 0:
            return []
        k = self.keys
        reserved = await self._reserve(
            keys=[k.queue, k.leases, k.usage, k.rounds],
            args=[limit, now + lease_seconds, max(limit * 16, 256), k.job(""), k.input("")],
        )
        ids = [text(i) for i in reserved[0::3]]
        bodies: list[Any] = list(reserved[1::3])
        inputs: list[Any] = list(reserved[2::3])
        capped_ok = True  # False after a conflict: jobs of owners with a running cap go back to the queue
        for _ in range(MAX_CONFLICTS):
            if not ids:
                return []
            guards, commands, claimed = Guards(), Commands(), []
            starting: dict[str, tuple[int, int]] = {}  # capped owner -> (cap, jobs started now)
            for job_id, body, given in zip(ids, bodies, inputs, strict=True):
                if not body:
                    commands.zrem(k.leases, job_id)  # swept while parked
                    continue
                job = unpack_record(body, given or None)
                guards.length(k.events(job_id), job.last_sequence)
                before = job.state
                if before is JobState.QUEUED and (capped_ok or not job.max_running):
                    write(commands, k, job, start(job), before, now)
                    claimed.append(job)
                    if job.max_running:
                        cap, n = starting.get(job.owner, (job.max_running, 0))
                        starting[job.owner] = (cap, n + 1)
                else:
                    index(commands, k, job, before, now)  # cancelled while parked, or put back: undo the parking
            for owner, (cap, n) in starting.items():
                # Another claimer's reservation may have passed the same owner's cap check before our start
                # counted: the owner's running jobs must leave room for ours.
                guards.sum_at_most(k.usage, [f"RUNNING:{owner}"], cap - n)
            commands.publish(k.channel, self._relay.message([j.id for j in claimed], True))
            outcome, _ = await self._apply(guards, commands)
            if outcome is Outcome.APPLIED:
                self._relay.notify([j.id for j in claimed], True)
                return claimed
            capped_ok = False
            bodies = await self._redis.mget([k.job(i) for i in ids])  # something changed meanwhile: read again
        raise StoreContention(f"claim of {ids} kept conflicting")

    async def transition(self, job_id: str, fence: int | None, change: Change, now: float) -> list[JobEvent]:
        key = self.keys.job(job_id)

        async def attempt(pipe: Any) -> tuple[list[JobEvent], bool]:
            body = await pipe.get(key)
            if not isinstance(body, bytes):
                raise JobNotFound(job_id)
            job = unpack_record(body)
            if fence is not None and job.fence != fence:
                raise StaleAttempt(f"job {job_id}: fence {fence} is stale (now {job.fence})")
            before = job.state
            events = change(job)
            queue_moved = JobState.QUEUED in (before, job.state)
            pipe.multi()
            stored = write(pipe, self.keys, job, events, before, now)
            pipe.publish(self.keys.channel, self._relay.message([job_id], queue_moved))
            return stored, queue_moved

        stored, queue_moved = await self._optimistic([key], attempt, f"transition of job {job_id}")
        self._relay.notify([job_id], queue_moved)
        return stored

    async def renew_leases(self, held: dict[str, int], until: float) -> set[str]:
        if not held:
            return set()
        ids = list(held)
        job_keys = [self.keys.job(i) for i in ids]

        async def attempt(pipe: Any) -> set[str]:
            lost: set[str] = set()
            bodies = await pipe.mget(job_keys)
            pipe.multi()
            for job_id, body in zip(ids, bodies, strict=True):
                job = unpack_record(body) if isinstance(body, bytes) else None
                if job is None or job.state is not JobState.RUNNING or job.fence != held[job_id]:
                    lost.add(job_id)
                    continue
                job.lease_until = until
                pipe.set(self.keys.job(job_id), pack_record(job))
                pipe.zadd(self.keys.leases, {job_id: until})
            return lost

        return await self._optimistic(job_keys, attempt, "lease renewal")

    async def expired_leases(self, now: float) -> list[str]:
        ids = await self._redis.zrangebyscore(self.keys.leases, "-inf", f"({now!r}")
        return [text(i) for i in ids]

    # --- upkeep --------------------------------------------------------------------------------------------

    async def sweep(self, now: float) -> int:
        return await self._upkeep.sweep(now)

    async def counts(self, now: float) -> QueueCounts:
        return await self._upkeep.counts(now)

    async def timings(self) -> dict[str, Timing]:
        return await self._upkeep.timings()

    async def record_timing(self, key: str, seconds: float, now: float) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self.keys.timing(key), repr(seconds))
            pipe.ltrim(self.keys.timing(key), 0, TIMING_SAMPLES - 1)
            pipe.sadd(self.keys.timing_keys, key)
            await pipe.execute()

    async def heartbeat(self, worker: str, slots: int, now: float) -> None:
        await self._redis.hset(self.keys.workers, worker, f"{slots} {now!r}")

    async def close(self) -> None:
        await self._relay.close()
        await self._redis.aclose()
