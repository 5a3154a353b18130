"""Bearer tokens: EdDSA (Ed25519) JWTs with a kid. Services only verify; the issuer signs.

Where the public keys come from is pluggable (`KeySource`): a file of development keys
(`cobuild token`), the access service's JWKS (`cobuild_kit.jwks`), or both (`KeySources`).
Each key is bound to the issuer whose tokens it verifies. The kit verifies through
`verify_fetching` (async), which refetches a key set on an unknown `kid` without blocking the
event loop; `verify` answers from the keys known now (ARCHITECTURE.md, "Tokens").
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from uuid import UUID

import jwt
from cobuild_contracts import Role
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cobuild_kit.actor import Actor as Actor  # re-exported: callers take it from auth
from cobuild_kit.errors import Unauthorized


class TokenVerifier(Protocol):
    def verify(self, token: str) -> Actor:
        """From the keys known now: an unknown `kid` is refused (`UnknownKey`)."""
        ...

    async def verify_fetching(self, token: str) -> Actor:
        """As `verify`, but an unknown `kid` first refetches the key sources that can."""
        ...


class UnknownKey(Unauthorized):
    """The token's `kid` is in no key source: never published, or rotated out."""

    def __init__(self, kid: str) -> None:
        super().__init__(f"token signed with an unknown or rotated-out key (kid {kid[:64]!r})")
        self.kid = kid


@dataclass(frozen=True)
class IssuerKey:
    """A public key and the issuer whose tokens it verifies: a development key cannot
    vouch for a token naming the access service as issuer, nor the other way round."""

    key: Ed25519PublicKey
    issuer: str


class KeySource(Protocol):
    @property
    def generation(self) -> int:
        """Grows whenever the keys change, so verified tokens of a removed key are dropped."""
        ...

    def find(self, kid: str) -> IssuerKey | None: ...

    async def refresh(self, kid: str) -> bool:
        """Try to learn `kid` (a fetch, if the source fetches and may now); whether it is known."""
        ...

    def refresh_soon(self) -> None:
        """Start a refresh in the background if the keys are due one; never waits."""
        ...


class StaticKeys:
    """Keys fixed at start: the development keys of `cobuild token`, or a test's."""

    generation = 0

    def __init__(self, keys: Mapping[str, Ed25519PublicKey], *, issuer: str) -> None:
        self._keys = {kid: IssuerKey(key, issuer) for kid, key in keys.items()}

    @classmethod
    def from_file(cls, path: Path, *, issuer: str) -> StaticKeys:
        """A JSON file {kid: public key PEM}."""
        raw: dict[str, str] = json.loads(path.read_text())
        return cls({kid: load_public_key(pem.encode()) for kid, pem in raw.items()}, issuer=issuer)

    def find(self, kid: str) -> IssuerKey | None:
        return self._keys.get(kid)

    async def refresh(self, kid: str) -> bool:
        return kid in self._keys

    def refresh_soon(self) -> None:
        return None


class KeySources:
    """Several sources, asked in order (the first that knows a `kid` answers for it)."""

    def __init__(self, sources: Sequence[KeySource]) -> None:
        self._sources = list(sources)

    @property
    def generation(self) -> int:
        return sum(s.generation for s in self._sources)  # each only grows

    def find(self, kid: str) -> IssuerKey | None:
        for source in self._sources:
            if (found := source.find(kid)) is not None:
                return found
        return None

    async def refresh(self, kid: str) -> bool:
        known = False
        for source in self._sources:
            known = await source.refresh(kid) or known
        return known

    def refresh_soon(self) -> None:
        for source in self._sources:
            source.refresh_soon()


VERIFIED_CACHE_SIZE = 10_000
# The longest a token may live (exp − iat), and the clock difference allowed between issuer
# and service. Cobuild's own tokens live 15 minutes to a few hours (the main job's actors).
MAX_LIFETIME_S = 24 * 3600
CLOCK_SKEW_S = 60

# PyJWT's refusals, in the words the refusal log and the 401 use (most specific first).
_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.InvalidIssuerError, "token from the wrong issuer"),
    (jwt.InvalidSignatureError, "token signature does not verify (tampered or forged)"),
    (jwt.InvalidAudienceError, "token for another audience"),
    (jwt.ImmatureSignatureError, "token not yet valid"),
    (jwt.MissingRequiredClaimError, "invalid token"),
    (jwt.DecodeError, "malformed token"),
)


class JwtVerifier:
    def __init__(
        self,
        keys: Mapping[str, Ed25519PublicKey] | KeySource,
        *,
        issuer: str | None = None,
        audience: str,
        max_lifetime_s: int = MAX_LIFETIME_S,
    ) -> None:
        """`keys`: a key source, or {kid: key} for tokens of `issuer`."""
        if isinstance(keys, Mapping):
            if issuer is None:
                raise TypeError("keys given as a mapping need the issuer of their tokens")
            keys = StaticKeys(keys, issuer=issuer)
        self._keys: KeySource = keys
        self._audience = audience
        self._max_lifetime_s = max_lifetime_s
        # token -> (actor, exp): an Ed25519 check per request is a fair share of a command's
        # CPU, and clients reuse one token for many requests. Keyed by the whole token
        # (signature included), filled only by tokens that verified; expiry is still checked,
        # and the whole cache is dropped when the keys change (a key rotated out).
        self._verified: dict[str, tuple[Actor, float]] = {}
        self._generation = self._keys.generation

    @classmethod
    def from_file(
        cls, path: Path, *, issuer: str, audience: str, max_lifetime_s: int = MAX_LIFETIME_S
    ) -> JwtVerifier:
        """A JSON file {kid: public key PEM}."""
        return cls(
            StaticKeys.from_file(path, issuer=issuer),
            audience=audience,
            max_lifetime_s=max_lifetime_s,
        )

    async def verify_fetching(self, token: str) -> Actor:
        self._keys.refresh_soon()
        try:
            return self.verify(token)
        except UnknownKey as exc:
            if not await self._keys.refresh(exc.kid):
                raise
        return self.verify(token)

    def verify(self, token: str) -> Actor:
        if self._keys.generation != self._generation:
            self._verified.clear()
            self._generation = self._keys.generation
        known = self._verified.get(token)
        if known is not None:
            actor, exp = known
            if time.time() <= exp:
                return actor
            del self._verified[token]
            raise Unauthorized("token expired")
        actor, exp = self._verify(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)))  # the oldest entry
        self._verified[token] = (actor, exp)
        return actor

    def _verify(self, token: str) -> tuple[Actor, float]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            if not isinstance(kid, str) or not kid:
                raise Unauthorized("token names no key (kid)")
            found = self._keys.find(kid)
            if found is None:
                raise UnknownKey(kid)
            claims = jwt.decode(
                token,
                found.key,
                algorithms=["EdDSA"],  # never 'none', never a symmetric algorithm
                audience=self._audience,
                issuer=found.issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
            self._check_lifetime(claims)
            grant = claims.get("gid")
            actor = Actor(
                subject=str(claims["sub"]),
                role=Role(claims["role"]),
                party_id=UUID(str(claims["party_id"])),
                grant_id=None if grant is None else UUID(str(grant)),
            )
            return actor, float(claims["exp"])
        except Unauthorized:
            raise
        except jwt.PyJWTError as exc:
            reason = next((r for kind, r in _REASONS if isinstance(exc, kind)), "invalid token")
            raise Unauthorized(f"{reason}: {exc}" if reason == "invalid token" else reason) from exc
        except (KeyError, ValueError) as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc

    def _check_lifetime(self, claims: dict[str, object]) -> None:
        """`exp` and `iat` are whole seconds (PyJWT would take "99999999999" as text), the
        token was not issued in the future, and it lives no longer than the bound: a stolen
        token must not outlive the revocation of its grant by years."""
        exp, iat = claims["exp"], claims["iat"]
        if type(exp) is not int or type(iat) is not int:
            raise Unauthorized("invalid token: exp and iat must be whole seconds")
        if iat > time.time() + CLOCK_SKEW_S:
            raise Unauthorized("invalid token: issued in the future")
        if exp - iat > self._max_lifetime_s:
            raise Unauthorized(
                f"invalid token: lives {exp - iat} s, over the {self._max_lifetime_s} s allowed"
            )


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("public key is not Ed25519")
    return key


def generate_keypair() -> tuple[bytes, bytes]:
    """(private PEM, public PEM) for a development issuer."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def issue_token(
    *,
    private_key_pem: bytes,
    kid: str,
    subject: str,
    role: Role | str,
    party_id: UUID | str,
    issuer: str = "cobuild-dev",
    audience: str = "cobuild",
    ttl_seconds: int = 3600,
    now: float | None = None,
    grant_id: UUID | None = None,
) -> str:
    """A signed token; `grant_id` adds the `gid` claim the access service's exchange sets."""
    issued = int(now if now is not None else time.time())  # wall clock, never business time
    claims = {
        "sub": subject,
        "role": Role(role).value,
        "party_id": str(party_id),
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    if grant_id is not None:
        claims["gid"] = str(grant_id)
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})  # type: ignore[arg-type]
