"""The Redis store's one way to apply a decision atomically: GUARDED, a script that checks what the decision read
(its guards) and runs the decision's commands only if every guard still holds, with named outcomes; and the
builders of its guards and commands."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import msgpack


class Outcome(enum.StrEnum):
    """What GUARDED answers."""

    APPLIED = "applied"  # every guard held: the commands ran
    DUPLICATE = "duplicate"  # an "absent" guard's key exists (its value is the detail): nothing ran
    CONFLICT = "conflict"  # something read has changed since: nothing ran; read again and re-decide


# A compare-and-set of what a decision read: checks every guard, then runs the commands, or runs nothing.
# ARGV[1] is one MessagePack array (one argument however many jobs a batch writes, so the client encodes one
# string instead of thousands): the number of guards, then 4 values per guard (op, key, field, expected), then
# the commands, each as its number of words and the words (bytes go as MessagePack's raw strings, which Redis's
# cmsgpack reads). Keys travel in the argument because what a decision touches is only known after it is made
# (this store is one Redis server, not a cluster). Guard ops:
#   absent  <key> - -          the key must not exist (else DUPLICATE, with its value)
#   same    <key> - <v>        GET key must be v ("" when absent): a record unchanged since it was read
#   equals  <key> <field> <v>  HGET key field must be v ("" when absent)
#   sum_le  <key> <f1 f2..> <n> the sum of HGET key fi (fields joined by \31) must be at most n
#   zcard_le <key> - <n>       ZCARD key must be at most n
#   llen    <key> - <n>        LLEN key must be exactly n (a job's event count: its version)
# Returns {outcome, detail}.
GUARDED = """
local A = cmsgpack.unpack(ARGV[1])
local guards = tonumber(A[1])
local at = 2
for _ = 1, guards do
  local op, key, field, want = A[at], A[at + 1], A[at + 2], A[at + 3]
  at = at + 4
  if op == 'absent' then
    local value = redis.call('GET', key)
    if value then return {'duplicate', value} end
  elseif op == 'same' then
    if (redis.call('GET', key) or '') ~= want then return {'conflict', key} end
  elseif op == 'equals' then
    if (redis.call('HGET', key, field) or '') ~= want then return {'conflict', key} end
  elseif op == 'sum_le' then
    local total = 0
    for f in string.gmatch(field, '[^\\31]+') do total = total + tonumber(redis.call('HGET', key, f) or '0') end
    if total > tonumber(want) then return {'conflict', key} end
  elseif op == 'zcard_le' then
    if redis.call('ZCARD', key) > tonumber(want) then return {'conflict', key} end
  elseif op == 'llen' then
    if redis.call('LLEN', key) ~= tonumber(want) then return {'conflict', key} end
  end
end
while at <= #A do
  local n = tonumber(A[at])
  redis.call(unpack(A, at + 1, at + n))
  at = at + n + 1
end
return {'applied', ''}
"""


@dataclass
class Commands:
    """Redis commands collected for GUARDED, with the pipeline's method names (so write() fills either)."""

    words: list[str | bytes] = field(default_factory=list)

    def _add(self, *words: str | bytes) -> None:
        # Numbers are made words by the callers below: a check of each word here cost more than the rest of
        # collecting a batch submit's commands (seven commands, some 25 words, a job).
        self.words.append(str(len(words)))
        self.words += words

    def set(self, key: str, value: str | bytes, px: int | None = None) -> None:
        if px is None:
            self._add("SET", key, value)
        else:
            self._add("SET", key, value, "PX", str(px))

    def rpush(self, key: str, *values: str) -> None:
        self._add("RPUSH", key, *values)

    def lpush(self, key: str, *values: str) -> None:
        self._add("LPUSH", key, *values)

    def ltrim(self, key: str, start: int, end: int) -> None:
        self._add("LTRIM", key, str(start), str(end))

    def zadd(self, key: str, mapping: dict[str, float]) -> None:
        for name, score in mapping.items():
            self._add("ZADD", key, repr(float(score)), name)

    def zrem(self, key: str, *names: str) -> None:
        self._add("ZREM", key, *names)

    def sadd(self, key: str, *names: str) -> None:
        self._add("SADD", key, *names)

    def srem(self, key: str, *names: str) -> None:
        self._add("SREM", key, *names)

    def hset(self, key: str, name: str, value: str) -> None:
        self._add("HSET", key, name, value)

    def hincrby(self, key: str, name: str, amount: int) -> None:
        self._add("HINCRBY", key, name, str(amount))

    def publish(self, channel: str, message: str) -> None:
        self._add("PUBLISH", channel, message)


@dataclass
class Guards:
    """The guards of one GUARDED call."""

    words: list[str | bytes] = field(default_factory=list)
    _guarded: set[tuple[str | bytes, ...]] = field(default_factory=set)

    def absent(self, key: str) -> None:
        self.words += ["absent", key, "-", "-"]

    def same(self, key: str, value: bytes) -> None:
        """The string at `key` is still `value` (a record as it was read): a compare-and-set on it."""
        self.words += ["same", key, "-", value]

    def equals(self, key: str, hash_field: str, value: str) -> None:
        self.words += ["equals", key, hash_field, value]

    def sum_at_most(self, key: str, fields: list[str], limit: int) -> None:
        self.words += ["sum_le", key, "\x1f".join(fields), str(limit)]

    def card_at_most(self, key: str, limit: int) -> None:
        self.words += ["zcard_le", key, "-", str(limit)]

    def length(self, key: str, value: int) -> None:
        self.words += ["llen", key, "-", str(value)]

    def merge_first(self, other: Guards) -> None:
        """Adds `other`'s guards on whatever this one does not guard yet (a batch's first read is what counts)."""
        if not self._guarded:
            self._guarded = {tuple(self.words[i : i + 3]) for i in range(0, len(self.words), 4)}
        for i in range(0, len(other.words), 4):
            what = tuple(other.words[i : i + 3])
            if what not in self._guarded:
                self._guarded.add(what)
                self.words += other.words[i : i + 4]

    def args(self, commands: Commands) -> list[bytes]:
        return [msgpack.packb([str(len(self.words) // 4), *self.words, *commands.words], use_bin_type=False)]
