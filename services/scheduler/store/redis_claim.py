"""The Redis store's claim: one script per dispatcher round takes the queue head and starts what it can.

The script walks the queue head in dispatch order, passing over owners at their running cap, exactly as far as
the round may claim. A job whose record this process already holds (it wrote the job as QUEUED, or an earlier
round peeked at it) comes with its start prepared: the core's start change applied in Python to that record,
written by the script if the record is still byte for byte what the change was applied to. Such a job is
claimed and started in one round trip. Any other job at the head is reserved (parked in the lease set) and
returned with its record, to be started by one guarded write as before; a claimer that dies in between leaves
a parked lease that runs out, and lease expiry puts the still-QUEUED job back. After the claimed jobs the script
returns the records of the next jobs in line, so the following round can prepare their start.

No rule runs in Lua: the script checks guards, runs the prepared commands and walks the queue; what a start
changes is decided by the core's change, as for any other state change.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgpack

from services.scheduler import codec
from services.scheduler.model import JobRecord, JobState
from services.scheduler.store.base import Change
from services.scheduler.store.redis_guarded import Commands
from services.scheduler.store.redis_scripts import Keys, member, text, unpack_record, write

# At most this many records of queued jobs are kept for preparing starts (a round prepares at most its limit).
KEPT_RECORDS = 1024
# The next jobs in line whose records a round reads for the next one: at least this many, or the round's limit.
PEEK_AT_LEAST = 16


class Claimed(enum.StrEnum):
    """What the CLAIM script answers for each job it names."""

    STARTED = "started"  # prepared, record unchanged: the start was written (answer: id, input)
    RESERVED = "reserved"  # taken from the head and parked: start it with a guarded write (id, record, input)
    GONE = "gone"  # a prepared job no longer queued under the member it was prepared with (id)
    PEEKED = "peeked"  # next in line, not claimed: to prepare its start next round (id, queue member, record)


# KEYS: queue, leases, usage, rounds. ARGV[1]: one MessagePack array: limit, parked-until score, scan limit, job
# key prefix, input key prefix, how many to peek at, the change channel, the change message's head, the number of
# prepared jobs, then per prepared job: id, queue member, record as prepared from, number of command words,
# the words (as GUARDED's commands: each its number of words, then the words).
# Returns a flat list of answers, each a Claimed outcome followed by its values (see Claimed).
CLAIM = """
local A = cmsgpack.unpack(ARGV[1])
local limit, parked, scan = tonumber(A[1]), A[2], tonumber(A[3])
local job_prefix, input_prefix, peek = A[4], A[5], tonumber(A[6])
local prepared, order = {}, {}
local at = 10
for _ = 1, tonumber(A[9]) do
  local n = tonumber(A[at + 3])
  prepared[A[at]] = {A[at + 1], A[at + 2], at + 4, n}
  order[#order + 1] = A[at]
  at = at + 4 + n
end
local out, started, extra = {}, {}, {}
local taken = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, scan - 1)) do
  local rest = string.sub(m, 27)
  local id, free = rest, true
  local gap = string.find(rest, ' ', 1, true)
  if gap then id = string.sub(rest, 1, gap - 1) end
  if taken >= limit then
    if peek <= 0 then break end
    if not prepared[id] then
      peek = peek - 1
      out[#out + 1] = 'peeked'
      out[#out + 1] = id
      out[#out + 1] = m
      out[#out + 1] = redis.call('GET', job_prefix .. id) or ''
    end
  else
    local owner
    if gap then
      local cap
      cap, owner = string.match(string.sub(rest, gap + 1), '^(%d+) (.*)$')
      local running = tonumber(redis.call('HGET', KEYS[3], 'RUNNING:' .. owner) or '0') + (extra[owner] or 0)
      free = running < tonumber(cap)
    end
    if free then
      taken = taken + 1
      redis.call('ZREM', KEYS[1], m)
      local serving = string.sub(m, 1, 2) .. ':'
      local round = tonumber(string.sub(m, 3, 14))
      if round > tonumber(redis.call('HGET', KEYS[4], serving) or '0') then
        redis.call('HSET', KEYS[4], serving, string.format('%d', round))
      end
      local body = redis.call('GET', job_prefix .. id) or ''
      local p = prepared[id]
      if p and p[1] == m and p[2] == body then
        local w, stop = p[3], p[3] + p[4]
        while w < stop do
          local n = tonumber(A[w])
          redis.call(unpack(A, w + 1, w + n))
          w = w + n + 1
        end
        started[#started + 1] = id
        out[#out + 1] = 'started'
        out[#out + 1] = id
      else
        redis.call('ZADD', KEYS[2], parked, id)
        if owner then extra[owner] = (extra[owner] or 0) + 1 end
        out[#out + 1] = 'reserved'
        out[#out + 1] = id
        out[#out + 1] = body
      end
      prepared[id] = nil
      out[#out + 1] = redis.call('GET', input_prefix .. id) or ''
    end
  end
end
for _, id in ipairs(order) do
  if prepared[id] and not redis.call('ZSCORE', KEYS[1], prepared[id][1]) then
    out[#out + 1] = 'gone'
    out[#out + 1] = id
  end
end
if #started > 0 then redis.call('PUBLISH', A[7], A[8] .. ' ' .. table.concat(started, ' ')) end
return out
"""


@dataclass
class Prepared:
    """A queued job's start, prepared from its record as read: the started job and what writing it takes."""

    job: JobRecord
    record: bytes  # the started record as the commands write it
    commands: Commands


@dataclass
class Round:
    """What one CLAIM answered: jobs started by the script, jobs reserved for a guarded start."""

    started: list[JobRecord] = field(default_factory=list)
    started_records: dict[str, bytes] = field(default_factory=dict)
    reserved: list[tuple[str, bytes, bytes]] = field(default_factory=list)  # id, record, input
    order: list[str] = field(default_factory=list)  # the ids of both, in dispatch order

    def in_order(self, reserved_started: list[JobRecord]) -> list[JobRecord]:
        """The started jobs and those of the reserved ones that a guarded write started, in dispatch order."""
        if not reserved_started:
            return self.started
        if not self.started:
            return reserved_started
        by_id = {job.id: job for job in self.started + reserved_started}
        return [by_id[job_id] for job_id in self.order if job_id in by_id]


class QueuedRecords:
    """Records of queued jobs as this process wrote or read them, by job id, with their queue member: the jobs
    whose start a round can prepare. An entry out of date costs nothing but the preparing (the script finds the
    record changed and reserves the job instead)."""

    def __init__(self) -> None:
        self._records: dict[str, tuple[str, bytes]] = {}

    def __len__(self) -> int:
        return len(self._records)

    def keep(self, job_id: str, queue_member: str, record: bytes) -> None:
        if len(self._records) >= KEPT_RECORDS:
            self._records.clear()  # jobs claimed elsewhere leave theirs behind until the script says "gone"
        self._records[job_id] = (queue_member, record)

    def keep_job(self, job: JobRecord, record: bytes) -> None:
        if job.state is JobState.QUEUED:
            self.keep(job.id, member(job), record)

    def forget(self, job_ids: Iterable[str]) -> None:
        for job_id in job_ids:
            self._records.pop(job_id, None)

    def first(self, limit: int) -> list[tuple[str, str, bytes]]:
        """Up to `limit` kept jobs in dispatch order: (id, queue member, record)."""
        ranked = heapq.nsmallest(limit, self._records.items(), key=lambda item: item[1][0])
        return [(job_id, queue_member, record) for job_id, (queue_member, record) in ranked]


def prepare(k: Keys, record: bytes, start: Change, now: float) -> Prepared | None:
    """The start of the job whose record is `record`, or None when it is no longer QUEUED."""
    job = unpack_record(record)
    if job.state is not JobState.QUEUED:
        return None
    commands, records = Commands(), dict[str, bytes]()
    write(commands, k, job, start(job), JobState.QUEUED, now, records=records)
    return Prepared(job, records[job.id], commands)


def claim_args(
    k: Keys,
    *,
    limit: int,
    parked_until: float,
    peek: int,
    message_head: str,
    prepared: list[tuple[str, str, bytes, Prepared]],
) -> list[bytes]:
    """CLAIM's one argument."""
    words: list[Any] = [
        str(limit),
        repr(parked_until),
        str(max(limit * 16, 256) + peek),
        k.job(""),
        k.input(""),
        str(peek),
        k.channel,
        message_head,
        str(len(prepared)),
    ]
    for job_id, queue_member, record, start in prepared:
        words += [job_id, queue_member, record, str(len(start.commands.words)), *start.commands.words]
    return [msgpack.packb(words, use_bin_type=False)]


def read_round(answer: list[Any], prepared: dict[str, Prepared], queued: QueuedRecords) -> Round:
    """Parses CLAIM's answer; keeps the peeked records and forgets the claimed and the gone ones."""
    found, at = Round(), 0
    while at < len(answer):
        outcome, job_id = Claimed(text(answer[at])), text(answer[at + 1])
        if outcome is Claimed.STARTED:
            start = prepared[job_id]
            given = answer[at + 2]
            if isinstance(given, bytes) and given:
                start.job.input = codec.input_from_bytes(start.job.type, given)
            found.started.append(start.job)
            found.started_records[job_id] = start.record
            queued.forget([job_id])
            found.order.append(job_id)
            at += 3
        elif outcome is Claimed.RESERVED:
            found.reserved.append((job_id, answer[at + 2], answer[at + 3]))
            queued.forget([job_id])
            found.order.append(job_id)
            at += 4
        elif outcome is Claimed.GONE:
            queued.forget([job_id])
            at += 2
        else:
            record = answer[at + 3]
            if isinstance(record, bytes) and record:
                queued.keep(job_id, text(answer[at + 2]), record)
            at += 4
    return found
