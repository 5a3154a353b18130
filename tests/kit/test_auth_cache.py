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
