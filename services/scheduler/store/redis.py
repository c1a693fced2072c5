"""The shared store: Redis, for several scheduler replicas and dispatchers (`SKILLBRIDGE_STORE=redis://...`).

A job is one string (its record as compact JSON, zlib-compressed when that is smaller) and a list of events
(sequence n at index n-1). Sorted sets index it: the queue (members in dispatch order: priority, fair round,
submit order), leases (by lease_until), scheduled (by not_before), expiry, recent ends, and per owner its ids;
a set holds the WAITING jobs and a hash per-owner counts by state. State changes run core.py's functions in
Python under WATCH/MULTI/EXEC on the job key; the submit and the claim of the queue head are Lua scripts
(redis_scripts.py), which check what must hold atomically across replicas: request ids, depth, quotas, rounds.

Every commit also PUBLISHes (inside the same MULTI or script) on one channel; a subscriber task turns other
processes' messages into ChangeFeed notices, so watchers and idle dispatchers on any replica wake at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Collection

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from services.scheduler import codec, core, policy
from services.scheduler.feed import ChangeFeed
from services.scheduler.model import EventKind, JobEvent, JobRecord, JobState, NewEvent, QueueCounts, Timing
from services.scheduler.policy import Bucket, Quota, quota_exceeded, take_token
from services.scheduler.store import redis_scripts as scripts
from services.scheduler.store.base import Change, OwnerUsage
from services.scheduler.store.redis_relay import ChangeRelay
from services.scheduler.store.redis_scripts import (
    MAX_CONFLICTS,
    StoreContention,
    index,
    member,
    number,
    pack_record,
    split_url,
    text,
    unpack_record,
    write,
)
from services.scheduler.store.redis_upkeep import Upkeep

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "skillbridge:"
LIST_CHUNK = 100


class RedisJobStore:
    """JobStore on Redis. `url` is redis://host:port/db, optionally with ?prefix=... for the key prefix (the
    `prefix` argument wins). With a ChangeFeed, other processes' commits are relayed to it."""

    shared = True

    def __init__(self, url: str, feed: ChangeFeed | None = None, *, prefix: str | None = None) -> None:
        clean, url_prefix = split_url(url)
        self.prefix = prefix if prefix is not None else (url_prefix if url_prefix is not None else DEFAULT_PREFIX)
        self.keys = scripts.Keys(self.prefix)
        self._redis = aioredis.Redis.from_url(clean, socket_connect_timeout=5.0)
        self._create = self._redis.register_script(scripts.CREATE)
        self._reserve = self._redis.register_script(scripts.RESERVE)
        self._upkeep = Upkeep(self._redis, self.keys)
        self._relay = ChangeRelay(self._redis, self.keys.channel, feed or ChangeFeed(), subscribe=feed is not None)
        self._ready = self._relay.ready
        # Submits of one owner read and compare-and-set the owner's round and token bucket; queueing them per
        # owner inside this process keeps concurrent clients from conflicting with each other at all.
        self._owner_locks: dict[str, asyncio.Lock] = {}

    async def _enqueue(self, job: JobRecord) -> tuple[int, str, str]:
        """Gives a job entering the queue its submit order and fair round. Returns its position, and the rounds
        field with the value it was read at, for the writer to check or overwrite."""
        job.queue_seq = int(await self._redis.incr(self.keys.seq))
        tier = f"{99 - job.priority:02d}:"
        serving, last = await self._redis.hmget(self.keys.rounds, [tier, tier + job.owner])
        job.fair_round = policy.assign_round(int(serving or 0), int(last) if last is not None else None)
        ahead = await self._redis.zlexcount(self.keys.queue, "-", f"({member(job)}")
        return int(ahead) + 1, tier + job.owner, text(last) if last is not None else ""

    # --- JobStore ------------------------------------------------------------------------------------------

    async def create(
        self,
        job: JobRecord,
        queued_event: Callable[[int], NewEvent],
        *,
        max_queue_depth: int,
        quota: Quota | None = None,
    ) -> tuple[JobRecord, bool]:
        await self._ready()
        k = self.keys
        request_key = k.request(job.owner, job.request_id or "-")
        lock = self._owner_locks.setdefault(job.owner, asyncio.Lock())
        async with lock:
            return await self._create_locked(job, queued_event, max_queue_depth, quota, request_key)

    async def _create_locked(
        self,
        job: JobRecord,
        queued_event: Callable[[int], NewEvent],
        max_queue_depth: int,
        quota: Quota | None,
        request_key: str,
    ) -> tuple[JobRecord, bool]:
        k = self.keys
        for attempt in range(MAX_CONFLICTS):
            if job.request_id and (existing := await self._existing(request_key)) is not None:
                return existing, False
            deps = {dep_id: await self.get(dep_id) for dep_id in job.depends_on}
            core.check_dependencies(job, deps)
            bucket, bucket_was = await self._take_token(job, quota)
            events = core.admit(job, deps, job.create_time, 0.0)
            rounds_field = rounds_was = ""
            if job.state is JobState.QUEUED:
                # The position is read just before the insert: a concurrent submit may shift it by one, as it
                # would a moment later anyway; the live position is always recomputed from the queue.
                position, rounds_field, rounds_was = await self._enqueue(job)
                events = [queued_event(position)]
            job.last_sequence = 0
            stored = number(job, events, job.create_time)
            index_score = job.not_before if job.state is JobState.SCHEDULED else job.expire_time
            outcome, detail = await self._create(
                keys=[
                    k.job(job.id),
                    k.events(job.id),
                    k.queue,
                    k.owner(job.owner),
                    k.owners,
                    request_key,
                    k.usage,
                    k.rounds,
                    k.buckets,
                    k.scheduled,
                    k.waiting,
                    k.expire,
                ],
                args=[
                    pack_record(job),
                    job.state.value,
                    job.id,
                    job.owner,
                    max_queue_depth,
                    "1" if job.request_id else "0",
                    k.channel,
                    self._relay.message([job.id], True),
                    member(job),
                    repr(index_score or 0.0),
                    quota.max_queued if quota is not None else 0,
                    rounds_field,
                    rounds_was,
                    job.fair_round,
                    bucket,
                    bucket_was,
                    *(codec.dumps([e.time, e.kind.value, e.data]) for e in stored),
                ],
            )
            if outcome == 3:
                # Another process's submit for this owner moved their round or bucket first: back off a little,
                # with jitter, so the two stop colliding.
                await asyncio.sleep(random.uniform(0, 0.001 * min(attempt + 1, 20)))
                continue
            if outcome == 0:
                earlier = await self.get(text(detail))
                if earlier is None:
                    continue  # swept meanwhile
                return earlier, False
            if outcome == 1:
                raise core.QueueFull(f"the queue is full ({detail} jobs); try again later", retry_after=5.0)
            if outcome == 4:
                assert quota is not None
                raise quota_exceeded(job.owner, "queued jobs", quota.max_queued, retry_after=5.0)
            self._relay.notify([job.id], True)
            return job, True
        raise StoreContention(f"submit of job {job.id} kept conflicting")

    async def _take_token(self, job: JobRecord, quota: Quota | None) -> tuple[str, str]:
        """The owner's submit-rate bucket after taking a token, and its value before ("", "" when unlimited).
        Raises ResourceExhausted when the bucket is empty."""
        if quota is None or not quota.submit_rate:
            return "", ""
        raw = await self._redis.hget(self.keys.buckets, job.owner)
        was = text(raw) if raw is not None else ""
        old = Bucket(*(float(x) for x in was.split())) if was else None
        bucket, wait = take_token(old, quota, job.create_time)
        if wait:
            raise quota_exceeded(job.owner, "submits per second", quota.submit_rate, retry_after=wait)
        return f"{bucket.tokens!r} {bucket.updated!r}", was

    async def _existing(self, request_key: str) -> JobRecord | None:
        job_id = await self._redis.get(request_key)
        return await self.get(job_id.decode()) if isinstance(job_id, bytes) else None

    async def get(self, job_id: str) -> JobRecord | None:
        await self._ready()
        body = await self._redis.get(self.keys.job(job_id))
        return unpack_record(body) if isinstance(body, bytes) else None

    async def list_jobs(
        self, *, owner: str | None, states: Collection[JobState], limit: int, before_id: str | None
    ) -> list[JobRecord]:
        await self._ready()
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
            for body in await self._redis.mget([self.keys.job(i) for i in ids]):
                if isinstance(body, bytes):
                    job = unpack_record(body)
                    if not states or job.state in states:
                        page.append(job)
            if len(ids) < chunk:
                break
            upper = f"({ids[-1]}"
        return page[:limit]

    async def events(self, job_id: str, after_sequence: int, limit: int = 1000) -> list[JobEvent]:
        await self._ready()
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
        await self._ready()
        rank = await self._redis.zrank(self.keys.queue, member(job))
        return int(rank) + 1 if isinstance(rank, int) else 0

    async def claim(self, *, worker: str, now: float, lease_seconds: float, limit: int) -> list[JobRecord]:
        if limit <= 0:
            return []
        await self._ready()
        k = self.keys
        reserved = await self._reserve(
            keys=[k.queue, k.leases, k.usage, k.rounds], args=[limit, now + lease_seconds, max(limit * 16, 256)]
        )
        ids = [i.decode() for i in reserved]
        if not ids:
            return []
        for _ in range(MAX_CONFLICTS):
            claimed: list[JobRecord] = []
            async with self._redis.pipeline(transaction=True) as pipe:
                job_keys = [k.job(i) for i in ids]
                await pipe.watch(*job_keys)
                bodies = await pipe.mget(job_keys)
                pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
                for job_id, body in zip(ids, bodies, strict=True):
                    if not isinstance(body, bytes):
                        pipe.zrem(k.leases, job_id)  # swept while parked
                        continue
                    job = unpack_record(body)
                    before = job.state
                    if before is JobState.QUEUED:
                        started = core.start_attempt(job, worker, now, now + lease_seconds)
                        write(pipe, self.keys, job, number(job, started, now), before, now)
                        claimed.append(job)
                    else:
                        index(pipe, self.keys, job, before, now)  # cancelled while parked: undo the parking
                pipe.publish(k.channel, self._relay.message([j.id for j in claimed], True))
                try:
                    await pipe.execute()
                except WatchError:
                    continue
            self._relay.notify([j.id for j in claimed], True)
            return claimed
        raise StoreContention(f"claim of {ids} kept conflicting")

    async def release(self, now: float, ttl: float) -> int:
        """Moves due SCHEDULED jobs on, and WAITING jobs whose dependencies all ended (to the queue when they
        succeeded, to CANCELLED when one did not). Returns how many jobs changed state."""
        await self._ready()
        due = await self._redis.zrangebyscore(self.keys.scheduled, "-inf", repr(now))
        waiting = await self._redis.smembers(self.keys.waiting)
        changed = 0
        for job_id in [text(i) for i in due] + sorted(text(i) for i in waiting):
            changed += await self._settle(job_id, now, ttl)
        return changed

    async def _settle(self, job_id: str, now: float, ttl: float) -> bool:
        key = self.keys.job(job_id)
        for _ in range(MAX_CONFLICTS):
            async with self._redis.pipeline(transaction=True) as pipe:
                await pipe.watch(key)
                body = await pipe.get(key)
                job = unpack_record(body) if isinstance(body, bytes) else None
                before = job.state if job is not None else None
                if job is None or before not in (JobState.SCHEDULED, JobState.WAITING):
                    return False
                deps = {dep_id: await self.get(dep_id) for dep_id in job.depends_on}
                if before is JobState.WAITING and any(d is not None and not d.state.terminal for d in deps.values()):
                    return False
                events = core.admit(job, deps, now, ttl)
                rounds_field = ""
                if job.state is JobState.QUEUED:
                    # Unlike a submit, the round is not compare-and-set here: a release racing a submit of the
                    # same owner may share a round with it, which only orders the two by submit order.
                    position, rounds_field, _ = await self._enqueue(job)
                    why = "not_before reached" if before is JobState.SCHEDULED else "dependencies succeeded"
                    events.append(core.released_event(why, position))
                if job.state is before and not events:
                    return False
                stored = number(job, events, now)
                pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
                write(pipe, self.keys, job, stored, before, now)
                if rounds_field:
                    pipe.hset(self.keys.rounds, rounds_field, str(job.fair_round))
                pipe.publish(self.keys.channel, self._relay.message([job_id], True))
                try:
                    await pipe.execute()
                except WatchError:
                    continue
            self._relay.notify([job_id], True)
            return True
        raise StoreContention(f"release of job {job_id} kept conflicting")

    async def owner_usage(self, owner: str) -> OwnerUsage:
        await self._ready()
        states = ("QUEUED", "SCHEDULED", "WAITING", "RUNNING")
        counts = [int(n or 0) for n in await self._redis.hmget(self.keys.usage, [f"{s}:{owner}" for s in states])]
        return OwnerUsage(pending=sum(counts[:3]), running=counts[3])

    async def transition(self, job_id: str, fence: int | None, change: Change, now: float) -> list[JobEvent]:
        await self._ready()
        key = self.keys.job(job_id)
        for _ in range(MAX_CONFLICTS):
            async with self._redis.pipeline(transaction=True) as pipe:
                await pipe.watch(key)
                body = await pipe.get(key)
                if not isinstance(body, bytes):
                    raise core.JobNotFound(job_id)
                job = unpack_record(body)
                if fence is not None and job.fence != fence:
                    raise core.StaleAttempt(f"job {job_id}: fence {fence} is stale (now {job.fence})")
                before = job.state
                stored = number(job, change(job), now)
                queue_moved = JobState.QUEUED in (before, job.state)
                pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
                write(pipe, self.keys, job, stored, before, now)
                pipe.publish(self.keys.channel, self._relay.message([job_id], queue_moved))
                try:
                    await pipe.execute()
                except WatchError:
                    continue
            self._relay.notify([job_id], queue_moved)
            return stored
        raise StoreContention(f"transition of job {job_id} kept conflicting")

    async def renew_leases(self, held: dict[str, int], until: float) -> set[str]:
        if not held:
            return set()
        await self._ready()
        ids = list(held)
        job_keys = [self.keys.job(i) for i in ids]
        for _ in range(MAX_CONFLICTS):
            lost: set[str] = set()
            async with self._redis.pipeline(transaction=True) as pipe:
                await pipe.watch(*job_keys)
                bodies = await pipe.mget(job_keys)
                pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
                for job_id, body in zip(ids, bodies, strict=True):
                    job = unpack_record(body) if isinstance(body, bytes) else None
                    if job is None or job.state is not JobState.RUNNING or job.fence != held[job_id]:
                        lost.add(job_id)
                        continue
                    job.lease_until = until
                    pipe.set(self.keys.job(job_id), pack_record(job))
                    pipe.zadd(self.keys.leases, {job_id: until})
                try:
                    await pipe.execute()
                except WatchError:
                    continue
            return lost
        raise StoreContention("lease renewal kept conflicting")

    async def expired_leases(self, now: float) -> list[str]:
        await self._ready()
        ids = await self._redis.zrangebyscore(self.keys.leases, "-inf", f"({now!r}")
        return [text(i) for i in ids]

    async def sweep(self, now: float) -> int:
        await self._ready()
        return await self._upkeep.sweep(now)

    async def counts(self, now: float) -> QueueCounts:
        await self._ready()
        return await self._upkeep.counts(now)

    async def timings(self) -> dict[str, Timing]:
        await self._ready()
        return await self._upkeep.timings()

    async def heartbeat(self, worker: str, slots: int, now: float) -> None:
        await self._ready()
        await self._redis.hset(self.keys.workers, worker, f"{slots} {now!r}")

    async def close(self) -> None:
        await self._relay.close()
        await self._redis.aclose()
