"""The Redis store's layout: key names, the reading scripts, the record encoding, and what one change of a job
writes.

No rule runs in Lua: the scripts here count queued jobs by priority and a submit's places (the claim's script,
which walks the queue head, is in redis_claim.py); decisions are written by GUARDED (redis_guarded.py) or under
WATCH/MULTI/EXEC, so the core stays the only place that knows the rules.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from services.scheduler import codec
from services.scheduler.model import JobEvent, JobRecord, JobState, NewEvent, order_key
from services.scheduler.store.base import TIMING_SAMPLES

# Bodies above this many bytes are compressed when it helps: inputs and results are text, often repetitive.
COMPRESS_OVER_BYTES = 200
# Optimistic transactions retry on conflict; this many conflicts in a row means something is wrong.
MAX_CONFLICTS = 100


class StoreContention(Exception):
    """An optimistic transaction kept conflicting with other writers."""


# The queue is one sorted set, every score 0, so members sort by their bytes: model.order_key (26 digits:
# priority desc, fair round, submit order), then the job id, then " <max_running> <owner>" for an owner with a
# running cap (the claim script reads it there). ZRANK is then the job's place in dispatch order.
ORDER_KEY_CHARS = 26


# Queued jobs per priority, walking the two-digit priority prefixes of the queue: O(priorities * log n), no
# counters to keep in step. KEYS: queue. Returns {priority, count, priority, count, ...}.
QUEUED_BY_PRIORITY = """
local out = {}
local head = redis.call('ZRANGE', KEYS[1], 0, 0)
while head[1] do
  local prefix = string.sub(head[1], 1, 2)
  out[#out + 1] = 99 - tonumber(prefix)
  out[#out + 1] = redis.call('ZLEXCOUNT', KEYS[1], '[' .. prefix, '(' .. prefix .. '\\255')
  head = redis.call('ZRANGE', KEYS[1], '(' .. prefix .. '\\255', '+', 'BYLEX', 'LIMIT', 0, 1)
end
return out
"""

# A submit's fair-round reads, with the queued jobs ahead of a new job in each round it may be given: the round
# being served (ARGV[3], a first job) and the owner's last round + 1 (the next one); and the queue's length and the
# submit's order. The core picks the round; this only counts, so a submit needs no second round trip to learn its
# place. (The length and the order were commands of their own in the snapshot's pipeline: each command there cost
# the client about 100k instructions to pack and read back, more than this script costs the server.) KEYS:
# rounds, queue, seq; ARGV: the priority prefix "pp:", owner. Returns {serving or "", owner's last or "", ahead at
# serving, ahead at last + 1 (or 0), queue length, submit order}.
SUBMIT_PLACES = """
local serving = redis.call('HGET', KEYS[1], ARGV[1])
local last = redis.call('HGET', KEYS[1], ARGV[1] .. ARGV[2])
local pp = string.sub(ARGV[1], 1, 2)
local function ahead(round)
  return redis.call('ZLEXCOUNT', KEYS[2], '-', '(' .. pp .. string.format('%012d', round + 1))
end
local next_ahead = 0
if last then next_ahead = ahead(tonumber(last) + 1) end
local depth = redis.call('ZCARD', KEYS[2])
return {serving or '', last or '', ahead(tonumber(serving or '0')), next_ahead, depth, redis.call('INCR', KEYS[3])}
"""

# The submit orders of jobs entering the queue, and the queued jobs ahead of each, in one call: a batch's 500
# ZLEXCOUNTs in a pipeline cost the client more (500 commands to pack and replies to read) than counting costs
# the server. KEYS: seq, queue; ARGV: each job's place as an exclusive upper bound in the queue's order ("(" and
# the order key prefix of its round + 1). Returns {the last submit order taken, then one count per bound}.
PLACES = """
local out = {redis.call('INCRBY', KEYS[1], #ARGV)}
for i = 1, #ARGV do
  out[i + 1] = redis.call('ZLEXCOUNT', KEYS[2], '-', ARGV[i])
end
return out
"""

# Drops an owner from the owner set once its index is empty, atomically with respect to a concurrent submit.
# KEYS: owner index, owners; ARGV: owner.
FORGET_OWNER = """
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) end
return 0
"""


@dataclass(frozen=True)
class Keys:
    """Every key of one store, under its prefix. Per job there are two keys (body and events) and one entry
    in the owner index; a queued job also has a queue entry, a running one a lease entry, a scheduled or
    waiting one an entry in their sets, a finished one an expiry entry."""

    prefix: str

    def job(self, job_id: str) -> str:
        return f"{self.prefix}j:{job_id}"

    def events(self, job_id: str) -> str:
        return f"{self.prefix}e:{job_id}"

    def input(self, job_id: str) -> str:
        """The job's input, written once at submit (protobuf wire form)."""
        return f"{self.prefix}in:{job_id}"

    def result(self, job_id: str) -> str:
        """The job's result, written once when it succeeds (protobuf wire form)."""
        return f"{self.prefix}res:{job_id}"

    def owner(self, owner: str) -> str:
        return f"{self.prefix}o:{owner}"

    def request(self, owner: str, request_id: str) -> str:
        # The owner's length first, so no owner/request pair can collide with another.
        return f"{self.prefix}r:{len(owner)}:{owner}:{request_id}"

    def cache(self, owner: str, key: str) -> str:
        return f"{self.prefix}c:{len(owner)}:{owner}:{key}"

    def timing(self, key: str) -> str:
        return f"{self.prefix}t:{key}"

    @property
    def queue(self) -> str:
        return f"{self.prefix}queue"

    @property
    def leases(self) -> str:
        return f"{self.prefix}leases"

    @property
    def expire(self) -> str:
        return f"{self.prefix}expire"

    @property
    def ended(self) -> str:
        return f"{self.prefix}ended"

    @property
    def owners(self) -> str:
        return f"{self.prefix}owners"

    @property
    def finished(self) -> str:
        return f"{self.prefix}finished"

    @property
    def usage(self) -> str:
        """Per owner and live state, how many jobs: fields "<STATE>:<owner>"."""
        return f"{self.prefix}usage"

    @property
    def rounds(self) -> str:
        """Fair-order rounds: "<pp>:<owner>" the owner's last, "<pp>:" the one being served (pp as in
        model.order_key)."""
        return f"{self.prefix}rounds"

    @property
    def buckets(self) -> str:
        return f"{self.prefix}buckets"

    @property
    def scheduled(self) -> str:
        return f"{self.prefix}scheduled"

    @property
    def waiting(self) -> str:
        return f"{self.prefix}waiting"

    @property
    def seq(self) -> str:
        return f"{self.prefix}seq"

    @property
    def timing_keys(self) -> str:
        return f"{self.prefix}timings"

    @property
    def workers(self) -> str:
        return f"{self.prefix}workers"

    @property
    def channel(self) -> str:
        return f"{self.prefix}changes"


# --- encoding --------------------------------------------------------------------------------------------


def pack_record(job: JobRecord) -> bytes:
    """The job as one compact string: codec's JSON, zlib-compressed when that is smaller. Deflated as codec
    deflates a small input, with a smaller hash table than zlib.compress sets up: setting up zlib's default one
    took over a quarter of compressing a record of 500 bytes (182k -> 131k instructions, callgrind); any zlib
    reads either."""
    return codec.compressed_if_smaller(codec.record_json(job).encode(), COMPRESS_OVER_BYTES)


def unpack_record(data: bytes, given: object = None, result: object = None) -> JobRecord:
    """The record, with its input and result when they were read too (replies that are not bytes: absent)."""
    # JSON starts with "{"; a zlib stream never does (its first byte is 0x78).
    raw = data if data[:1] == b"{" else zlib.decompress(data)
    return codec.record_from_dict(
        codec.loads(raw), given if isinstance(given, bytes) else None, result if isinstance(result, bytes) else None
    )


def text(value: object) -> str:
    """A Redis reply as str (the client returns bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def split_url(url: str) -> tuple[str, str | None]:
    """The Redis URL without our own `prefix` query parameter, and that prefix (None when absent)."""
    parts = urlsplit(url)
    prefix: str | None = None
    rest = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "prefix":
            prefix = value
        else:
            rest.append((key, value))
    return urlunsplit(parts._replace(query=urlencode(rest))), prefix


# --- the writes of one change of one job, queued inside a MULTI -------------------------------------------


def number(job: JobRecord, events: list[NewEvent], now: float) -> list[JobEvent]:
    stored = []
    for event in events:
        job.last_sequence += 1
        stored.append(JobEvent(job.id, job.last_sequence, now, event.kind, event.data))
    return stored


def member(job: JobRecord) -> str:
    """The job's queue member: it sorts in dispatch order (see redis_scripts.ORDER_KEY_CHARS)."""
    member = order_key(job.priority, job.fair_round, job.queue_seq) + job.id
    return f"{member} {job.max_running} {job.owner}" if job.max_running else member


def cache_ttl_ms(job: JobRecord, now: float) -> int:
    """How long a finished job's cache entry lives: as long as the job itself."""
    expire = job.expire_time if job.expire_time is not None else now
    return max(int((expire - now) * 1000), 1)


def index(pipe: Any, k: Keys, job: JobRecord, before: JobState, now: float, *, new: bool = False) -> None:
    """Puts the job in exactly the sorted sets its state calls for. Writing the index from the state, not
    from the transition, also heals a job left parked in the lease set by a claimer that died. A `new` job is
    in no set yet: nothing to remove."""
    state, job_id = job.state, job.id
    if state is JobState.QUEUED:
        pipe.zadd(k.queue, {member(job): 0})
    elif not new:
        pipe.zrem(k.queue, member(job))
    if state is JobState.RUNNING:
        pipe.zadd(k.leases, {job_id: job.lease_until if job.lease_until is not None else now})
    elif not new:
        pipe.zrem(k.leases, job_id)
    if state is JobState.SCHEDULED:
        pipe.zadd(k.scheduled, {job_id: job.not_before if job.not_before is not None else now})
    elif not new:
        pipe.zrem(k.scheduled, job_id)
    if state is JobState.WAITING:
        pipe.sadd(k.waiting, job_id)
    elif not new:
        pipe.srem(k.waiting, job_id)
    if state is JobState.SUCCEEDED and job.cache_key and not before.terminal:
        pipe.set(k.cache(job.owner, job.cache_key), job.id, px=cache_ttl_ms(job, now))
    if state.terminal:
        pipe.zadd(k.expire, {job_id: job.expire_time if job.expire_time is not None else now})
        if not before.terminal:
            pipe.hincrby(k.finished, state.value, 1)
            pipe.zadd(k.ended, {job_id: job.end_time if job.end_time is not None else now})
    if before is not state:
        if not before.terminal:
            pipe.hincrby(k.usage, f"{before.value}:{job.owner}", -1)
        if not state.terminal:
            pipe.hincrby(k.usage, f"{state.value}:{job.owner}", 1)


def write(
    pipe: Any,
    k: Keys,
    job: JobRecord,
    events: list[NewEvent],
    before: JobState,
    now: float,
    *,
    new: bool = False,
    records: dict[str, bytes] | None = None,
) -> list[JobEvent]:
    """Queues (inside MULTI, or into a Commands list) everything one change of one job writes: the record, its
    events numbered on from its last sequence, the timings they carry, its indexes. Returns the numbered events;
    `records`, when given, gets the record's bytes as written."""
    stored = number(job, events, now)
    record = pack_record(job)
    pipe.set(k.job(job.id), record)
    if records is not None:
        records[job.id] = record
    if job.result is not None and job.state is JobState.SUCCEEDED and not before.terminal:
        pipe.set(k.result(job.id), codec.result_to_stored(job.result))
    if stored:
        pipe.rpush(k.events(job.id), *(codec.dumps([e.time, e.kind.value, e.data]) for e in stored))
    for event in events:
        for key, seconds in event.timings:
            pipe.lpush(k.timing(key), repr(seconds))
            pipe.ltrim(k.timing(key), 0, TIMING_SAMPLES - 1)
            pipe.sadd(k.timing_keys, key)
    index(pipe, k, job, before, now, new=new)
    return stored
