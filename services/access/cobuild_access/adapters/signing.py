"""Cobuild tokens: the signing keys this service holds (a `KeySource` for its own verifier),
signing, and the JWKS it publishes (ARCHITECTURE.md, "Tokens").

The key set lives in the database (`signing_keys`), so every replica signs with the same key
and publishes the same set; each replica holds a copy, reloaded by the key worker and on a
token naming a kid it does not hold yet."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt
from cobuild_contracts import Role
from cobuild_kit.auth import CLOCK_SKEW_S, IssuerKey
from cobuild_kit.jwks import jwk_of
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cobuild_access.domain import keys as policy


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey
    public: Ed25519PublicKey
    activates_at: datetime


@dataclass(frozen=True)
class NewKey:
    kid: str
    private_pem: bytes
    public_raw: bytes


def new_key(now: datetime) -> NewKey:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return NewKey(f"access-{now:%Y%m%d}-{secrets.token_hex(4)}", pem, raw)


def load_key(kid: str, private_pem: bytes, activates_at: datetime) -> SigningKey:
    private = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError(f"signing key {kid} is not Ed25519")
    return SigningKey(kid, private, private.public_key(), activates_at)


@dataclass(frozen=True)
class Issued:
    token: str
    expires_in: int
    kid: str


class KeyRing:
    """The keys of one replica. `find` answers the verifier (a key past its drop time is
    unknown, so a token signed with a rotated-out key is refused); `refresh` reloads from the
    database through the loader the runtime binds, at most once per `min_reload_s`."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        token_ttl_s: int,
        min_reload_s: float = 1.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.token_ttl_s = token_ttl_s
        self.generation = 0
        self._keys: dict[str, SigningKey] = {}
        self._drops_at: dict[str, datetime] = {}
        self._loader: Callable[[], Awaitable[None]] | None = None
        self._min_reload_s = min_reload_s
        self._reloaded_at: float | None = None
        self._lock = asyncio.Lock()
        self._wall = wall

    @property
    def token_life(self) -> timedelta:
        """How long after a key stops signing one of its tokens may still be alive."""
        return timedelta(seconds=self.token_ttl_s + CLOCK_SKEW_S)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._wall(), UTC)  # wall clock: tokens, not business

    def bind(self, loader: Callable[[], Awaitable[None]]) -> None:
        self._loader = loader

    @property
    def loaded(self) -> bool:
        return self._reloaded_at is not None

    def install(self, keys: Sequence[SigningKey]) -> None:
        """Replace the set (what the database holds now)."""
        times = [policy.KeyTimes(k.kid, k.activates_at) for k in keys]
        drops: dict[str, datetime] = {}
        for t in times:
            retired = policy.retired_at(times, t)
            if retired is not None:
                drops[t.kid] = retired + self.token_life
        if {k.kid for k in keys} != set(self._keys) or drops != self._drops_at:
            self.generation += 1
        self._keys = {k.kid: k for k in keys}
        self._drops_at = drops
        self._reloaded_at = time.monotonic()

    # -- KeySource (cobuild_kit.auth) ----------------------------------------------------

    def find(self, kid: str) -> IssuerKey | None:
        key = self._keys.get(kid)
        if key is None:
            return None
        drops = self._drops_at.get(kid)
        if drops is not None and self.now() >= drops:
            return None
        return IssuerKey(key.public, self.issuer)

    async def refresh(self, kid: str) -> bool:
        if self.find(kid) is not None:
            return True
        async with self._lock:
            if self.find(kid) is not None:
                return True
            recent = (
                self._reloaded_at is not None
                and time.monotonic() - self._reloaded_at < self._min_reload_s
            )
            if self._loader is not None and not recent:
                await self._loader()
        return self.find(kid) is not None

    def refresh_soon(self) -> None:
        return None  # the key worker reloads on its own schedule

    # -- signing and publishing ------------------------------------------------------------

    def signing_key(self) -> SigningKey | None:
        times = [policy.KeyTimes(k.kid, k.activates_at) for k in self._keys.values()]
        chosen = policy.signing(times, self.now())
        return self._keys[chosen.kid] if chosen else None

    def sign(
        self, *, subject: str, role: Role, party_id: UUID, grant_id: UUID | None
    ) -> Issued | None:
        """A Cobuild token, or None while no key signs yet (the first start's key is loading)."""
        key = self.signing_key()
        if key is None:
            return None
        issued = int(self._wall())
        claims: dict[str, Any] = {
            "sub": subject,
            "role": role.value,
            "party_id": str(party_id),
            "iss": self.issuer,
            "aud": self.audience,
            "iat": issued,
            "exp": issued + self.token_ttl_s,
        }
        if grant_id is not None:
            claims["gid"] = str(grant_id)
        token = jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": key.kid})
        return Issued(token, self.token_ttl_s, key.kid)

    def jwks(self) -> list[dict[str, str]]:
        """The published public keys: every key held and not yet dropped (the next key,
        published ahead, included)."""
        times = [policy.KeyTimes(k.kid, k.activates_at) for k in self._keys.values()]
        shown = policy.published(times, self.now(), self.token_life)
        return [jwk_of(t.kid, self._keys[t.kid].public) for t in shown]
