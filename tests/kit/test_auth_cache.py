"""The verifier's cache of verified tokens must not change any answer: a cached token still
expires, and only tokens that verified are cached."""

from __future__ import annotations

from uuid import uuid4

import pytest
from cobuild_contracts import Role
from cobuild_kit import auth
from cobuild_kit.errors import Unauthorized
from cobuild_kit.testing import TestIssuer


def test_a_cached_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    issuer = TestIssuer()
    party = uuid4()
    token = issuer.token(Role.UNIT_ADMIN, party, ttl_seconds=60)
    first = issuer.verifier.verify(token)
    assert issuer.verifier.verify(token) == first  # from the cache
    later = auth.time.time() + 61
    monkeypatch.setattr(auth.time, "time", lambda: later)
    with pytest.raises(Unauthorized, match="expired"):
        issuer.verifier.verify(token)
    assert token not in issuer.verifier._verified  # dropped from the cache


def test_a_tampered_copy_of_a_cached_token_is_refused() -> None:
    issuer = TestIssuer()
    token = issuer.token(Role.DISTRICT_ADMIN, uuid4())
    issuer.verifier.verify(token)
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    with pytest.raises(Unauthorized):
        issuer.verifier.verify(forged)


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "VERIFIED_CACHE_SIZE", 3)
    issuer = TestIssuer()
    tokens = [issuer.token(Role.MEMBER, uuid4()) for _ in range(5)]
    for token in tokens:
        issuer.verifier.verify(token)
    assert len(issuer.verifier._verified) == 3
    assert all(issuer.verifier.verify(t).role is Role.MEMBER for t in tokens)


def _signed(issuer: TestIssuer, **claims: object) -> str:
    """A token with hand-made claims, signed with the issuer's real key."""
    import jwt
    from cryptography.hazmat.primitives import serialization

    now = int(auth.time.time())
    body = {"sub": "s", "role": "unit_admin", "party_id": str(uuid4()), "iss": "cobuild-dev",
            "aud": "cobuild", "iat": now, "exp": now + 600, **claims}  # fmt: skip
    key = serialization.load_pem_private_key(issuer.private_pem, password=None)
    return jwt.encode(body, key, algorithm="EdDSA", headers={"kid": issuer.kid})  # type: ignore[arg-type]


def test_exp_and_iat_must_be_whole_seconds_and_the_lifetime_is_bounded() -> None:
    """The hardening issue: 'token exp of any type or lifetime accepted'."""
    issuer = TestIssuer()
    now = int(auth.time.time())
    assert issuer.verifier.verify(_signed(issuer)).subject == "s"
    refused = {
        "exp as text": _signed(issuer, exp=str(now + 600)),
        "exp as a fraction": _signed(issuer, exp=now + 600.5),
        "no iat": _signed(issuer, iat=None),
        "ten years": _signed(issuer, exp=now + 10 * 365 * 86400),
        "issued tomorrow": _signed(issuer, iat=now + 86400, exp=now + 86400 + 600),
    }
    for what, token in refused.items():
        with pytest.raises(Unauthorized):
            issuer.verifier.verify(token)
            pytest.fail(f"{what} was accepted")
