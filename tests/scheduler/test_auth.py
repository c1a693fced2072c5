"""The key ring: "key=owner[:tier]" entries, keys matched whole (compared as digests in constant time against
every key), development and anonymous modes."""

from __future__ import annotations

import pytest

from services.common import errors
from services.scheduler.auth import KeyRing, parse_keys


def ring(spec: str, *, anonymous: bool = False) -> KeyRing:
    return KeyRing(parse_keys(spec), dev_owner="dev", allow_anonymous=anonymous)


def test_each_key_maps_to_its_owner_and_tier() -> None:
    keys = ring("k-alice=alice,k-bob=bob:vip,k-root=ops:admin")
    assert keys.principal("Bearer k-alice").owner == "alice"
    bob = keys.principal("bearer  k-bob ")
    assert (bob.owner, bob.tier, bob.admin) == ("bob", "vip", False)
    assert keys.principal("Bearer k-root").admin


@pytest.mark.parametrize(
    "value", ["Bearer k-alic", "Bearer k-alice-", "Bearer K-ALICE", "Bearer k-alice=alice", "Bearer \udcff", "Bearer é"]
)
def test_only_a_whole_key_matches(value: str) -> None:
    with pytest.raises(errors.Unauthenticated, match="unknown API key"):
        ring("k-alice=alice").principal(value)


def test_the_authorization_value_must_be_a_bearer_key() -> None:
    keys = ring("k-alice=alice")
    for value in ("k-alice", "Basic k-alice", "Bearer "):
        with pytest.raises(errors.Unauthenticated):
            keys.principal(value)
    with pytest.raises(errors.Unauthenticated, match="API key is required"):
        keys.principal(None)


def test_development_and_anonymous_modes() -> None:
    open_ring = ring("")
    assert open_ring.principal(None).admin and open_ring.principal("Bearer anything").owner == "dev"
    local = ring("k-alice=alice", anonymous=True)
    anonymous = local.principal(None)
    assert (anonymous.owner, anonymous.admin) == ("dev", False)
    assert local.principal("Bearer k-alice").owner == "alice"


def test_malformed_entries_are_refused() -> None:
    for spec in ("k-alice", "=alice", "k=alice:root", "k="):
        with pytest.raises(ValueError, match="bad API key entry"):
            parse_keys(spec)
