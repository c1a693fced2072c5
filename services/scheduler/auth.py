"""API keys -> principals. Keys come from settings as "key=owner[:tier]" pairs, comma separated.

Tiers: "standard", "vip" and "admin"; an admin sees and cancels every job. With no keys configured the
scheduler runs in development mode and every caller is the development owner.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from services.common import errors
from services.common.process_settings import AuthSettings
from services.scheduler.model import Principal

TIERS = ("standard", "vip", "admin")


class KeyRing:
    """Resolves the `authorization` header/metadata value to a Principal."""

    def __init__(self, keys: dict[str, Principal], *, dev_owner: str, allow_anonymous: bool) -> None:
        self._keys = keys
        # Keys are compared as digests, in constant time, against every key: how long a lookup takes says
        # nothing about how much of a guess was right, nor which key matched.
        self._digests = [(_digest(key), principal) for key, principal in keys.items()]
        # With no keys at all there is one user and nothing to protect: the development owner is unlimited.
        # With keys and anonymous access allowed (the local stack), anonymous callers get the standard tier.
        self._dev = Principal(owner=dev_owner, admin=not keys, tier="admin" if not keys else "standard")
        self._anonymous = allow_anonymous or not keys

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> KeyRing:
        return cls(
            parse_keys(settings.api_keys), dev_owner=settings.dev_owner, allow_anonymous=settings.allow_anonymous
        )

    def principal(self, authorization: str | None) -> Principal:
        if not authorization:
            if self._anonymous:
                return self._dev
            raise errors.Unauthenticated("an API key is required: send 'authorization: Bearer <key>'")
        scheme, _, key = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise errors.Unauthenticated("the authorization value must be 'Bearer <key>'")
        if not self._keys:
            return self._dev
        found = self._lookup(key.strip())
        if found is None:
            raise errors.Unauthenticated("unknown API key")
        return found

    def _lookup(self, key: str) -> Principal | None:
        digest = _digest(key)
        found: Principal | None = None
        for known, principal in self._digests:
            if hmac.compare_digest(known, digest):
                found = principal
        return found


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def parse_keys(spec: str) -> dict[str, Principal]:
    """Parses "key=owner[:tier],..." into a key -> Principal map; raises ValueError on a malformed entry."""
    keys: dict[str, Principal] = {}
    for entry in _split(spec):
        key, sep, rest = entry.partition("=")
        owner, _, tier = rest.partition(":")
        tier = tier or "standard"
        if not sep or not key.strip() or not owner.strip() or tier not in TIERS:
            raise ValueError(f"bad API key entry {entry!r}: expected key=owner[:{'|'.join(TIERS)}]")
        keys[key.strip()] = Principal(owner=owner.strip(), admin=tier == "admin", tier=tier)
    return keys


def _split(spec: str) -> Iterable[str]:
    return (part.strip() for part in spec.split(",") if part.strip())
