"""The shared store: Redis, for several scheduler replicas and dispatchers (`SKILLBRIDGE_STORE=redis://...`).

A job is one string (its record as compact JSON, zlib-compressed when that is smaller) and a list of events
(sequence n at index n-1; the list's length is the job's version). Sorted sets index it: the queue (members in
dispatch order: priority, fair round, submit order), leases (by lease_until), scheduled (by not_before), expiry,
recent ends, and per owner its ids; a set holds the WAITING jobs and a hash per-owner counts by state.

No rule lives here. A submit or release reads a snapshot in one pipelined round trip, hands it to the core's
decision, and writes the decision with the GUARDED script: a compare-and-set on what the decision read (the
owner's round and bucket, the owner's waiting jobs and the depth not grown, the job's version), re-read and
re-decided on conflict. The claim is one script per round (redis_claim.py): it starts the head's jobs whose
start this process prepared from their records, and reserves the others, started with one guarded write. Other
state changes run core's change functions on the record as read and write with GUARDED on condition that the
record is unchanged; lease renewal (many records at once) runs under WATCH/MULTI/EXEC, through one helper.

Every commit also PUBLISHes (inside the same MULTI or script) on one channel; a subscriber task turns other
processes' messages into ChangeFeed notices, so watchers and idle dispatchers on any replica wake at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from typing import Any, TypeVar

from redis.exceptions import WatchError

from services.common.tasks import cancel_and_wait
from services.scheduler import codec
from services.scheduler.feed import ChangeFeed
from services.scheduler.model import (
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
from services.scheduler.store import redis_claim as claiming
from services.scheduler.store import redis_scripts as scripts
from services.scheduler.store.base import TIMING_SAMPLES, Change
from services.scheduler.store.redis_admission import RedisAdmission
from services.scheduler.store.redis_coalesce import CoalescedScript
from services.scheduler.store.redis_guarded import GUARDED, Commands, Guards, Outcome
from services.scheduler.store.redis_pool import PoolLimits, open_client, trim_forever
from services.scheduler.store.redis_relay import ChangeRelay
from services.scheduler.store.redis_scripts import (
    MAX_CONFLICTS,
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
# At most this many records of running jobs are remembered as written (a dispatcher runs far fewer at once).
HELD_RECORDS = 10_000
LIST_CHUNK = 100
T = TypeVar("T")


class RedisJobStore(RedisAdmission):
    """JobStore on Redis. `url` is redis://host:port/db, optionally with ?prefix=... for the key prefix (the
    `prefix` argument wins). With a ChangeFeed, other processes' commits are relayed to it once open() ran."""

    shared = True

    def __init__(
        self,
        url: str,
        feed: ChangeFeed | None = None,
        *,
        prefix: str | None = None,
        limits: PoolLimits | None = None,
    ) -> None:
        clean, url_prefix = split_url(url)
        self.prefix = prefix if prefix is not None else (url_prefix if url_prefix is not None else DEFAULT_PREFIX)
        self.keys = scripts.Keys(self.prefix)
        # Every call shares one bounded pool that waits at its cap; watchers hold no connection while they wait
        # (they wait on the ChangeFeed), and the one subscription of the relay holds one for good.
        self._redis, self.pool = open_client(clean, limits or PoolLimits(), socket_connect_timeout=5.0)
        self._trimmer: asyncio.Task[None] | None = None
        self._guarded = CoalescedScript(self._redis, self._redis.register_script(GUARDED))
        self._claim = self._redis.register_script(claiming.CLAIM)
        # Records of queued jobs this process wrote or peeked at: the claims it can start in one round trip.
        self._queued = claiming.QueuedRecords()
        self._upkeep = Upkeep(self._redis, self.keys)
        self._relay = ChangeRelay(self._redis, self.keys.channel, feed or ChangeFeed(), subscribe=feed is not None)
        # Submits of one owner compare-and-set the owner's round and bucket; queueing them per owner inside this
        # process keeps concurrent clients from conflicting with each other at all.
        self._owner_locks: dict[str, asyncio.Lock] = {}
        # The record bytes this process last wrote for each job it is running: a state change compares against
        # them (GUARDED's "same" guard) instead of reading the record first, and reads only on a conflict.
        self._held: dict[str, bytes] = {}

    async def open(self) -> None:
        """The one connect step: subscribes to other processes' change notices (their commits from then on
        reach this process's feed), and starts closing connections left idle after a burst. Calls work before
        it; they just are not relayed."""
        if self._trimmer is None:
            self._trimmer = asyncio.create_task(trim_forever(self.pool), name=f"redis-pool-trim:{self.prefix}")
        await self._relay.ready()

    # --- the other way to write ----------------------------------------------------------------------------

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
        """One CLAIM script takes the queue head: jobs whose record this process holds are started by it (one
        round trip), others are reserved and started with one guarded write (see redis_claim.py)."""
        if limit <= 0:
            return []
        k = self.keys
        prepared: dict[str, claiming.Prepared] = {}
        offered = []
        for job_id, queue_member, record in self._queued.first(limit):
            ready = claiming.prepare(k, record, start, now)
            if ready is None:
                self._queued.forget([job_id])
                continue
            prepared[job_id] = ready
            offered.append((job_id, queue_member, record, ready))
        peek = max(limit, claiming.PEEK_AT_LEAST) if len(self._queued) < claiming.KEPT_RECORDS // 2 else 0
        answer = await self._claim(
            keys=[k.queue, k.leases, k.usage, k.rounds],
            args=claiming.claim_args(
                k,
                limit=limit,
                parked_until=now + lease_seconds,
                peek=peek,
                message_head=self._relay.message([], True),
                prepared=offered,
            ),
        )
        found = claiming.read_round(answer, prepared, self._queued)
        if found.started:
            self._hold(found.started_records)
            self._relay.notify([j.id for j in found.started], True)
        return found.in_order(await self._start_reserved(found.reserved, now, start))

    async def _start_reserved(
        self, reserved: list[tuple[str, bytes, bytes]], now: float, start: Change
    ) -> list[JobRecord]:
        """Starts jobs the claim script reserved, with one guarded write on condition that none changed since."""
        k = self.keys
        ids = [job_id for job_id, _, _ in reserved]
        bodies: list[Any] = [body for _, body, _ in reserved]
        inputs: list[Any] = [given for _, _, given in reserved]
        capped_ok = True  # False after a conflict: jobs of owners with a running cap go back to the queue
        for _ in range(MAX_CONFLICTS):
            if not ids:
                return []
            guards, commands, claimed = Guards(), Commands(), []
            records: dict[str, bytes] = {}
            written: dict[str, list[JobEvent]] = {}
            starting: dict[str, tuple[int, int]] = {}  # capped owner -> (cap, jobs started now)
            for job_id, body, given in zip(ids, bodies, inputs, strict=True):
                if not body:
                    commands.zrem(k.leases, job_id)  # swept while parked
                    continue
                job = unpack_record(body, given or None)
                guards.length(k.events(job_id), job.last_sequence)
                before = job.state
                if before is JobState.QUEUED and (capped_ok or not job.max_running):
                    written[job.id] = write(commands, k, job, start(job), before, now, records=records)
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
                self._hold({j.id: records[j.id] for j in claimed if j.state is JobState.RUNNING})
                self._relay.notify([j.id for j in claimed], True, events=written)
                return claimed
            capped_ok = False
            bodies = await self._redis.mget([k.job(i) for i in ids])  # something changed meanwhile: read again
        raise StoreContention(f"claim of {ids} kept conflicting")

    async def transition(self, job_id: str, fence: int | None, change: Change, now: float) -> list[JobEvent]:
        """One GUARDED write on condition that the record is still what this process last wrote for a job it runs
        (one round trip), or what a GET reads (two; also after a conflict, which re-reads). The writes travel as
        one packed argument instead of a MULTI of a dozen commands each packed on its own."""
        key = self.keys.job(job_id)
        body = self._held.pop(job_id, None)
        for _ in range(MAX_CONFLICTS):
            if body is None:
                read = await self._redis.get(key)
                if not isinstance(read, bytes):
                    raise JobNotFound(job_id)
                body = read
            job = unpack_record(body)
            if fence is not None and job.fence != fence:
                raise StaleAttempt(f"job {job_id}: fence {fence} is stale (now {job.fence})")
            before = job.state
            events = change(job)
            queue_moved = JobState.QUEUED in (before, job.state)
            guards, commands, records = Guards(), Commands(), dict[str, bytes]()
            guards.same(key, body)
            stored = write(commands, self.keys, job, events, before, now, records=records)
            commands.publish(self.keys.channel, self._relay.message([job_id], queue_moved))
            outcome, _ = await self._apply(guards, commands)
            if outcome is Outcome.APPLIED:
                if job.state is JobState.RUNNING:
                    self._hold(records)
                self._relay.notify([job_id], queue_moved, events={job_id: stored})
                return stored
            body = None  # changed since: read what it is now
        raise StoreContention(f"transition of job {job_id} kept conflicting")

    def _hold(self, records: dict[str, bytes]) -> None:
        if len(self._held) > HELD_RECORDS:
            self._held.clear()  # attempts that ended elsewhere (cancelled, lease lost) leave theirs behind
        self._held.update(records)

    async def renew_leases(self, held: dict[str, int], until: float) -> set[str]:
        if not held:
            return set()
        ids = list(held)
        for job_id in ids:
            self._held.pop(job_id, None)  # rewritten below: the next change reads it
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
        if self._trimmer is not None:
            await cancel_and_wait(self._trimmer)  # a plain cancel can be lost inside a redis-py call
            self._trimmer = None
        await self._relay.close()
        await self._redis.aclose()
