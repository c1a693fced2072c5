"""The Redis store's bookkeeping outside job transitions: the expiry sweep, queue counts and timings."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from services.scheduler.model import JobRecord, JobState, QueueCounts, Timing
from services.scheduler.store import redis_scripts as scripts
from services.scheduler.store.base import TIMING_SAMPLES, WORKER_TTL_SECONDS, timing_of
from services.scheduler.store.redis_scripts import MAX_CONFLICTS, Keys, StoreContention, index, text, unpack_record

SWEEP_BATCH = 500


class Upkeep:
    """Sweeps expired jobs and reads the figures GetQueueStatus reports, for one RedisJobStore."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self._redis, self.keys = client, keys
        self._by_priority = client.register_script(scripts.QUEUED_BY_PRIORITY)
        self._forget_owner = client.register_script(scripts.FORGET_OWNER)

    async def sweep(self, now: float) -> int:
        k = self.keys
        removed = 0
        while True:
            batch = [text(i) for i in await self._redis.zrangebyscore(k.expire, "-inf", f"({now!r}", 0, SWEEP_BATCH)]
            if batch:
                removed += await self._delete(batch, now)
            if len(batch) < SWEEP_BATCH:
                break
        await self._redis.zremrangebyscore(k.ended, "-inf", f"({now - 60.0!r}")
        workers = await self._redis.hgetall(k.workers)
        stale = [w for w, value in workers.items() if float(text(value).split()[1]) < now - WORKER_TTL_SECONDS]
        if stale:
            await self._redis.hdel(k.workers, *stale)
        return removed

    async def _delete(self, ids: list[str], now: float) -> int:
        """Deletes these expired jobs with their events and index entries; returns how many went."""
        k = self.keys
        job_keys = [k.job(i) for i in ids]
        for _ in range(MAX_CONFLICTS):
            gone: list[JobRecord] = []
            async with self._redis.pipeline(transaction=True) as pipe:
                await pipe.watch(*job_keys)
                bodies = await pipe.mget(job_keys)
                pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
                for job_id, body in zip(ids, bodies, strict=True):
                    job = unpack_record(body) if isinstance(body, bytes) else None
                    if job is None or not job.state.terminal or (job.expire_time or 0.0) >= now:
                        pipe.zrem(k.expire, job_id)  # already gone, or no longer due
                        if job is not None:
                            index(pipe, k, job, job.state, now)
                        continue
                    pipe.delete(k.job(job_id), k.events(job_id), k.input(job_id), k.result(job_id))
                    pipe.zrem(k.expire, job_id)
                    pipe.zrem(k.ended, job_id)
                    pipe.zrem(k.owner(job.owner), job_id)
                    pipe.hincrby(k.finished, job.state.value, -1)
                    if job.request_id:
                        pipe.delete(k.request(job.owner, job.request_id))
                    gone.append(job)
                try:
                    await pipe.execute()
                except WatchError:
                    continue
            for owner in {j.owner for j in gone}:
                await self._forget_owner(keys=[k.owner(owner), k.owners], args=[owner])
            return len(gone)
        raise StoreContention("sweep kept conflicting")

    async def counts(self, now: float) -> QueueCounts:
        k = self.keys
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcard(k.queue)
            pipe.zcard(k.leases)
            pipe.zcard(k.scheduled)
            pipe.scard(k.waiting)
            pipe.hgetall(k.finished)
            pipe.zcount(k.ended, f"({now - 60.0!r}", "+inf")
            pipe.hgetall(k.workers)
            queued, running, scheduled, waiting, finished, recent, workers = await pipe.execute()
        bands = await self._by_priority(keys=[k.queue])
        counts = QueueCounts()
        counts.queued_by_priority = {int(bands[i]): int(bands[i + 1]) for i in range(0, len(bands), 2)}
        by_state = {
            JobState.QUEUED: int(queued),
            JobState.RUNNING: int(running),
            JobState.SCHEDULED: int(scheduled),
            JobState.WAITING: int(waiting),
        }
        by_state.update({JobState(s.decode()): int(n) for s, n in finished.items()})
        counts.by_state = {state: n for state, n in by_state.items() if n > 0}
        counts.finished_last_minute = int(recent)
        seen_since = now - WORKER_TTL_SECONDS
        counts.workers = sum(int(v.split()[0]) for v in workers.values() if float(v.split()[1]) > seen_since)
        return counts

    async def timings(self) -> dict[str, Timing]:
        keys = sorted(text(m) for m in await self._redis.smembers(self.keys.timing_keys))
        if not keys:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.lrange(self.keys.timing(key), 0, TIMING_SAMPLES - 1)
            samples = await pipe.execute()
        return {key: timing_of(key, [float(s) for s in rows]) for key, rows in zip(keys, samples, strict=True)}
