"""The access service's public keys, read from its JWKS (`GET /.well-known/jwks.json`).

A `KeySource` (`cobuild_kit.auth`) for every service: the set is fetched when a token names a
`kid` it does not hold (a key the access service has just started signing with), and again in
the background once it is older than `max_age_s` (so a key rotated out of the set stops
verifying without a restart). Fetches never block the event loop, concurrent callers share
one, and at most one fetch starts per `min_refetch_interval_s`: a flood of tokens naming
made-up kids costs the access service one request per interval, not one per token. A fetch
that fails keeps the keys already held (ARCHITECTURE.md, "Tokens").
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections.abc import Callable
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from cobuild_kit.auth import IssuerKey
from cobuild_kit.logging import get_logger

log = get_logger(__name__)


class JwksKeys:
    def __init__(
        self,
        url: str,
        *,
        issuer: str,
        max_age_s: float = 60.0,
        min_refetch_interval_s: float = 5.0,
        timeout_s: float = 3.0,
        monotonic: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self._issuer = issuer
        self._max_age_s = max_age_s
        self._min_interval_s = min_refetch_interval_s
        self._timeout_s = timeout_s
        self._now = monotonic
        self._transport = transport  # tests serve the set without a socket
        self._keys: dict[str, IssuerKey] = {}
        self._raw: dict[str, bytes] = {}
        self.generation = 0
        self.fetches = 0  # attempts, for tests and logs
        self._fetched_at: float | None = None  # the last fetch that succeeded
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None

    def find(self, kid: str) -> IssuerKey | None:
        return self._keys.get(kid)

    async def refresh(self, kid: str) -> bool:
        if kid in self._keys:
            return True
        async with self._lock:  # a fetch under way answers every caller waiting here
            if kid in self._keys:
                return True
            if not self._may_fetch():
                log.debug("jwks.refetch_limited", kid=kid[:64], url=self.url)
                return False
            await self._fetch()
        return kid in self._keys

    def refresh_soon(self) -> None:
        if self._background is not None and not self._background.done():
            return
        stale = self._fetched_at is None or self._now() - self._fetched_at >= self._max_age_s
        if stale and self._may_fetch() and not self._lock.locked():
            self._background = asyncio.get_running_loop().create_task(self._fetch_locked())

    def _may_fetch(self) -> bool:
        return (
            self._attempted_at is None or self._now() - self._attempted_at >= self._min_interval_s
        )

    async def _fetch_locked(self) -> None:
        async with self._lock:
            if self._may_fetch():
                await self._fetch()

    async def _fetch(self) -> None:
        self._attempted_at = self._now()
        self.fetches += 1
        try:
            # trust_env off: the access service is an internal address, not for a proxy
            async with httpx.AsyncClient(
                timeout=self._timeout_s, trust_env=False, transport=self._transport
            ) as client:
                response = await client.get(self.url, headers={"accept": "application/json"})
            response.raise_for_status()
            raw = public_keys(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("jwks.fetch_failed", url=self.url, error=repr(exc), kept=sorted(self._raw))
            return
        self._fetched_at = self._now()
        if raw == self._raw:
            return
        added, removed = sorted(raw.keys() - self._raw.keys()), sorted(self._raw.keys() - raw)
        self._keys = {
            kid: IssuerKey(Ed25519PublicKey.from_public_bytes(x), self._issuer)
            for kid, x in raw.items()
        }
        self._raw = raw
        self.generation += 1
        log.info("jwks.keys_changed", url=self.url, added=added, removed=removed)


def public_keys(jwks: Any) -> dict[str, bytes]:
    """{kid: raw 32-byte Ed25519 public key} of a JWK set. Keys of other types or uses are
    skipped; a set that is not one, or a signing key that is malformed, is a ValueError
    (the keys held before stay)."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ValueError("not a JWK set: no 'keys' list")
    keys: dict[str, bytes] = {}
    for jwk in jwks["keys"]:
        if not isinstance(jwk, dict):
            raise ValueError("a JWK is not an object")
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue  # another algorithm's key: not for Cobuild tokens
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", "EdDSA") != "EdDSA":
            continue
        if "d" in jwk:
            raise ValueError("the JWK set holds a private key")
        kid, x = jwk.get("kid"), jwk.get("x")
        if not isinstance(kid, str) or not kid or not isinstance(x, str):
            raise ValueError("an Ed25519 JWK without kid or x")
        try:
            raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"JWK {kid!r}: x is not base64url") from exc
        if len(raw) != 32:
            raise ValueError(f"JWK {kid!r}: x is not a 32-byte Ed25519 key")
        keys[kid] = raw
    return keys


def jwk_of(kid: str, key: Ed25519PublicKey) -> dict[str, str]:
    """The public JWK of an Ed25519 key (RFC 8037), as a JWKS lists it."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig", "alg": "EdDSA"}
