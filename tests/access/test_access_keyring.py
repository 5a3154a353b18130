"""The key ring one replica holds: it signs with the key whose turn it is, publishes the next
key ahead and the retired one while its tokens live, then refuses tokens of a rotated-out key
(the verifier finds no key for their kid)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import jwt
import pytest
from cobuild_access.adapters.signing import KeyRing, load_key, new_key
from cobuild_contracts import Role
from cobuild_kit.auth import JwtVerifier, UnknownKey
from cobuild_kit.errors import Unauthorized

# The kit's verifier reads the wall clock: the ring's clock starts now and moves on from there.
T0 = datetime.now(UTC).replace(microsecond=0)


class Wall:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at.timestamp()


def ring_at(wall: Wall) -> KeyRing:
    return KeyRing(issuer="cobuild-access", audience="cobuild", token_ttl_s=900, wall=wall)


def key(at: datetime):  # type: ignore[no-untyped-def]
    made = new_key(at)
    return load_key(made.kid, made.private_pem, at)


def test_signs_publishes_and_drops_in_turn() -> None:
    wall = Wall(T0)
    ring = ring_at(wall)
    assert ring.sign(subject="s", role=Role.PERSON, party_id=uuid4(), grant_id=None) is None
    first, second = key(T0), key(T0 + timedelta(days=7))
    ring.install([first, second])
    verifier = JwtVerifier(ring, audience="cobuild", max_lifetime_s=960)

    grant = uuid4()
    issued = ring.sign(subject="s", role=Role.COMMUNITY_ADMIN, party_id=uuid4(), grant_id=grant)
    assert issued is not None and issued.kid == first.kid and issued.expires_in == 900
    actor = verifier.verify(issued.token)
    assert actor.role is Role.COMMUNITY_ADMIN and actor.grant_id == grant
    assert jwt.get_unverified_header(issued.token) == {
        "alg": "EdDSA",
        "kid": first.kid,
        "typ": "JWT",
    }
    # The next key is published ahead of its turn.
    assert [k["kid"] for k in ring.jwks()] == [first.kid, second.kid]
    assert all(k["kty"] == "OKP" and "d" not in k for k in ring.jwks())

    # Its turn: the second signs; the first stays published while its tokens may live...
    wall.at = T0 + timedelta(days=7)
    later = ring.sign(subject="s", role=Role.PERSON, party_id=uuid4(), grant_id=None)
    assert later is not None and later.kid == second.kid
    assert [k["kid"] for k in ring.jwks()] == [first.kid, second.kid]
    # ...and is dropped once they cannot: its tokens are refused from then on.
    wall.at = T0 + timedelta(days=7, minutes=16)
    assert [k["kid"] for k in ring.jwks()] == [second.kid]
    assert ring.find(first.kid) is None
    fresh = JwtVerifier(ring, audience="cobuild")
    with pytest.raises(UnknownKey):
        fresh.verify(issued.token)


def test_an_unknown_kid_reloads_the_ring_once_then_is_refused() -> None:
    wall = Wall(T0)
    ring = ring_at(wall)
    reloads: list[int] = []
    later_key = key(T0)

    async def loader() -> None:
        reloads.append(1)
        ring.install([later_key])

    ring.bind(loader)
    other = ring_at(wall)
    other.install([later_key])
    issued = other.sign(subject="s", role=Role.PERSON, party_id=uuid4(), grant_id=None)
    assert issued is not None
    verifier = JwtVerifier(ring, audience="cobuild")
    # Another replica signed with a key this one had not loaded: one reload, then it verifies.
    assert asyncio.run(verifier.verify_fetching(issued.token)).subject == "s"
    assert reloads == [1]
    forged = jwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256", headers={"kid": "nope"})
    with pytest.raises(Unauthorized):
        asyncio.run(verifier.verify_fetching(forged))
