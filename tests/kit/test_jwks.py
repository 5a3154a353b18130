"""Tokens verified against the access service's JWKS (cobuild_kit.jwks): each refusal says why,
keys rotate without a restart, and tokens naming made-up kids cannot make a service hammer the
access service. The set is served through an httpx transport: no socket, no clock waits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import httpx
import jwt
import pytest
import structlog
from cobuild_contracts import Role
from cobuild_kit.actor import Actor
from cobuild_kit.auth import JwtVerifier, KeySources, StaticKeys, UnknownKey
from cobuild_kit.errors import Unauthorized
from cobuild_kit.jwks import JwksKeys, jwk_of, public_keys
from cobuild_kit.service import ActorDep, Runtime, ServiceDefinition, create_app
from cobuild_kit.settings import ServiceSettings
from cobuild_kit.testing import TestIssuer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter

ISSUER = "cobuild-access"
URL = "http://access.test/.well-known/jwks.json"


class Access:
    """The access service's side: signing keys, and the JWK set it publishes."""

    def __init__(self) -> None:
        self.keys: dict[str, Ed25519PrivateKey] = {}
        self.published: list[str] = []  # kids in the set
        self.requests = 0
        self.fail = False

    def new_key(self, kid: str, *, publish: bool = True) -> None:
        self.keys[kid] = Ed25519PrivateKey.generate()
        if publish:
            self.published.append(kid)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [jwk_of(kid, self.keys[kid].public_key()) for kid in self.published]}

    def transport(self) -> httpx.MockTransport:
        def answer(request: httpx.Request) -> httpx.Response:
            self.requests += 1
            assert str(request.url) == URL
            if self.fail:
                return httpx.Response(503)
            return httpx.Response(200, json=self.jwks())

        return httpx.MockTransport(answer)

    def token(self, kid: str, **claims: Any) -> str:
        now = int(time.time())
        body = {"sub": "oidc|alice", "role": "community_admin", "party_id": str(uuid4()),
                "iss": ISSUER, "aud": "cobuild", "iat": now, "exp": now + 900,
                "gid": str(uuid4()), **claims}  # fmt: skip
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, self.keys[kid], algorithm="EdDSA", headers={"kid": kid})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verifier_of(access: Access, clock: Callable[[], float]) -> tuple[JwtVerifier, JwksKeys]:
    source = JwksKeys(
        URL,
        issuer=ISSUER,
        max_age_s=60,
        min_refetch_interval_s=5,
        monotonic=clock,
        transport=access.transport(),
    )
    return JwtVerifier(source, audience="cobuild"), source


async def test_a_jwks_token_verifies_and_names_its_grant() -> None:
    access, clock = Access(), Clock()
    access.new_key("k1")
    verifier, source = verifier_of(access, clock)
    grant = uuid4()
    actor = await verifier.verify_fetching(access.token("k1", gid=str(grant)))
    assert actor.grant_id == grant and actor.role is Role.COMMUNITY_ADMIN
    assert source.fetches == 1
    # A person token (no gid) has no grant.
    assert (await verifier.verify_fetching(access.token("k1", gid=None))).grant_id is None
    with pytest.raises(Unauthorized, match="invalid token"):
        await verifier.verify_fetching(access.token("k1", gid="not-a-uuid"))
    assert source.fetches == 1  # the key was known: no more fetches


async def test_refusals_say_why() -> None:
    access, clock = Access(), Clock()
    access.new_key("k1")
    verifier, _ = verifier_of(access, clock)
    good = access.token("k1")
    await verifier.verify_fetching(good)
    head, payload, signature = good.split(".")
    other = Access()
    other.new_key("k1")  # same kid, another key: a forger's
    now = int(time.time())
    refused = {
        "token from the wrong issuer": access.token("k1", iss="https://evil.example"),
        "signature does not verify": f"{head}.{payload}.{signature[:-4]}AAAA",
        "signature does not verify ": other.token("k1"),
        "token expired": access.token("k1", iat=now - 1000, exp=now - 100),
        "for another audience": access.token("k1", aud="elsewhere"),
        "malformed token": "not.a.token",
    }
    for reason, token in refused.items():
        with pytest.raises(Unauthorized, match=reason.strip()):
            await verifier.verify_fetching(token)


async def test_a_new_key_is_fetched_and_a_rotated_out_key_refused() -> None:
    access, clock = Access(), Clock()
    access.new_key("k1")
    verifier, source = verifier_of(access, clock)
    old = access.token("k1")
    assert (await verifier.verify_fetching(old)).subject == "oidc|alice"  # cached as verified
    # The access service rotates: k2 signs from now on, and k1 leaves the set.
    access.new_key("k2")
    access.published.remove("k1")
    clock.now += 10  # past the refetch interval, well within the set's max age
    assert (await verifier.verify_fetching(access.token("k2"))).subject == "oidc|alice"
    assert source.fetches == 2  # the unknown kid refetched the set, no restart
    with pytest.raises(UnknownKey, match="rotated-out key"):
        verifier.verify(old)  # the verified-token cache went with the key
    with pytest.raises(UnknownKey):
        await verifier.verify_fetching(old)  # and the refetch is not due yet
    assert source.fetches == 2


async def test_a_key_removed_from_the_set_stops_verifying_once_the_set_is_old() -> None:
    """A rotated-out key whose successor was published in advance (so no token names an
    unknown kid): the background refresh of an old set drops it."""
    access, clock = Access(), Clock()
    access.new_key("k1")
    access.new_key("k2")
    verifier, source = verifier_of(access, clock)
    old = access.token("k1")
    await verifier.verify_fetching(old)
    access.published.remove("k1")
    clock.now += 61
    await verifier.verify_fetching(access.token("k2"))  # from the old set; a refresh starts
    await asyncio.sleep(0.05)
    assert source.fetches == 2
    with pytest.raises(UnknownKey):
        await verifier.verify_fetching(old)


async def test_unknown_kids_refetch_at_most_once_per_interval() -> None:
    access, clock = Access(), Clock()
    access.new_key("k1")
    verifier, source = verifier_of(access, clock)
    await verifier.verify_fetching(access.token("k1"))
    assert access.requests == 1
    clock.now += 5
    forger = Access()
    for i in range(50):
        forger.new_key(f"made-up-{i}")
    flood = [forger.token(f"made-up-{i}") for i in range(50)]
    results = await asyncio.gather(
        *(verifier.verify_fetching(t) for t in flood), return_exceptions=True
    )
    assert all(isinstance(r, UnknownKey) for r in results)
    assert access.requests == 2  # fifty unknown kids, one fetch
    for token in flood:
        with pytest.raises(UnknownKey):
            await verifier.verify_fetching(token)
    assert access.requests == 2
    clock.now += 5
    with pytest.raises(UnknownKey):
        await verifier.verify_fetching(flood[0])
    assert access.requests == 3  # one more interval, one more fetch
    assert (await verifier.verify_fetching(access.token("k1"))).role is Role.COMMUNITY_ADMIN
    assert source.fetches == 3


async def test_a_failed_fetch_keeps_the_keys_held() -> None:
    access, clock = Access(), Clock()
    access.new_key("k1")
    verifier, source = verifier_of(access, clock)
    await verifier.verify_fetching(access.token("k1"))
    access.fail = True
    clock.now += 120
    await verifier.verify_fetching(access.token("k1"))
    await asyncio.sleep(0.05)
    assert source.fetches == 2
    assert (await verifier.verify_fetching(access.token("k1"))).subject == "oidc|alice"


async def test_development_keys_and_the_jwks_together_each_bound_to_its_issuer() -> None:
    """`cobuild token`'s file keys keep working beside the JWKS; a key vouches only for its
    own issuer's tokens."""
    access, clock, dev = Access(), Clock(), TestIssuer("dev-1")
    access.new_key("k1")
    jwks = JwksKeys(URL, issuer=ISSUER, monotonic=clock, transport=access.transport())
    files = StaticKeys({"dev-1": dev.public_key}, issuer="cobuild-dev")
    verifier = JwtVerifier(KeySources([files, jwks]), audience="cobuild")
    party = uuid4()
    assert (await verifier.verify_fetching(dev.token(Role.UNIT_ADMIN, party))).party_id == party
    assert (await verifier.verify_fetching(access.token("k1"))).grant_id is not None
    with pytest.raises(Unauthorized, match="wrong issuer"):
        await verifier.verify_fetching(access.token("k1", iss="cobuild-dev"))


def test_a_jwk_set_is_read_strictly() -> None:
    key = Ed25519PrivateKey.generate()
    good = jwk_of("k1", key.public_key())
    assert set(public_keys({"keys": [good, {"kty": "RSA", "kid": "r", "n": "x", "e": "AQAB"}]}))
    assert public_keys({"keys": []}) == {}
    for bad in ({}, {"keys": "k1"}, {"keys": [{**good, "d": "secret"}]},
                {"keys": [{**good, "x": "AAAA"}]}, {"keys": [{**good, "kid": ""}]}):  # fmt: skip
        with pytest.raises(ValueError):
            public_keys(bad)


async def test_a_revoked_grant_is_refused_and_others_are_not() -> None:
    """The request path: `Runtime.authenticate` asks the set in memory."""
    issuer = TestIssuer()
    rt: Runtime = Runtime(
        ServiceDefinition(
            name="revoketest",
            settings=ServiceSettings(),
            migrations_package=None,
            verifier=issuer.verifier,
        )
    )
    revoked, kept = uuid4(), uuid4()
    rt.revoked.replace({revoked})
    party = uuid4()
    with pytest.raises(Unauthorized, match="revoked grant"):
        await rt.authenticate(issuer.token(Role.COMMUNITY_ADMIN, party, grant_id=revoked))
    ok = await rt.authenticate(issuer.token(Role.COMMUNITY_ADMIN, party, grant_id=kept))
    assert ok == Actor("community_admin:" + str(party), Role.COMMUNITY_ADMIN, party, kept)
    dev = await rt.authenticate(issuer.token(Role.COMMUNITY_ADMIN, party))
    assert dev.grant_id is None
    assert revoked in rt.revoked and kept not in rt.revoked and len(rt.revoked) == 1
    assert any(spec.purpose == "access" for spec in rt.definition.all_consumers())


async def test_each_refusal_is_logged_with_its_reason() -> None:
    """Wrong issuer, tampered, expired, unknown key, revoked grant: the 401 and the
    `request.refused` log line both carry the reason."""
    access, clock = Access(), Clock()
    access.new_key("k1")
    verifier, _ = verifier_of(access, clock)
    router = APIRouter()

    @router.get("/me")
    async def me(actor: ActorDep) -> dict[str, str]:
        return {"subject": actor.subject}

    app = create_app(
        ServiceDefinition(
            name="logtest",
            settings=ServiceSettings(),
            migrations_package=None,
            routers=[router],
            verifier=verifier,
        )
    )
    revoked = uuid4()
    app.state.runtime.revoked.replace({revoked})
    good = access.token("k1")
    head, payload, signature = good.split(".")
    now = int(time.time())
    forger = Access()
    forger.new_key("gone")
    cases = {
        "wrong issuer": access.token("k1", iss="https://evil.example"),
        "signature does not verify": f"{head}.{payload}.{signature[:-4]}AAAA",
        "expired": access.token("k1", iat=now - 1000, exp=now - 100),
        "unknown or rotated-out key": forger.token("gone"),
        "revoked grant": access.token("k1", gid=str(revoked)),
    }
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/me", headers={"authorization": f"Bearer {good}"})).is_success
        for reason, token in cases.items():
            with structlog.testing.capture_logs() as logs:
                answer = await client.get("/me", headers={"authorization": f"Bearer {token}"})
            assert answer.status_code == 401 and reason in answer.json()["message"], answer.text
            refused = [e for e in logs if e["event"] == "request.refused"]
            assert refused and reason in refused[0]["reason"], logs
