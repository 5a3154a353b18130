"""Bearer tokens: EdDSA (Ed25519) JWTs with a kid. Services only verify; the issuer signs.

The verifier is a protocol, so a production identity provider (OIDC) can replace `JwtVerifier`.
"""

from __future__ import annotations

import json
import time
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
    def verify(self, token: str) -> Actor: ...


VERIFIED_CACHE_SIZE = 10_000
# The longest a token may live (exp − iat), and the clock difference allowed between issuer
# and service. Cobuild's own tokens live 15 minutes to a few hours (the main job's actors).
MAX_LIFETIME_S = 24 * 3600
CLOCK_SKEW_S = 60


class JwtVerifier:
    def __init__(
        self,
        public_keys: dict[str, Ed25519PublicKey],
        *,
        issuer: str,
        audience: str,
        max_lifetime_s: int = MAX_LIFETIME_S,
    ) -> None:
        self._keys = public_keys
        self._issuer = issuer
        self._audience = audience
        self._max_lifetime_s = max_lifetime_s
        # token -> (actor, exp): an Ed25519 check per request is a fair share of a command's
        # CPU, and clients reuse one token for many requests. Keyed by the whole token
        # (signature included), filled only by tokens that verified; expiry is still checked.
        self._verified: dict[str, tuple[Actor, float]] = {}

    @classmethod
    def from_file(
        cls, path: Path, *, issuer: str, audience: str, max_lifetime_s: int = MAX_LIFETIME_S
    ) -> JwtVerifier:
        """A JSON file {kid: public key PEM}."""
        raw: dict[str, str] = json.loads(path.read_text())
        keys = {kid: load_public_key(pem.encode()) for kid, pem in raw.items()}
        return cls(keys, issuer=issuer, audience=audience, max_lifetime_s=max_lifetime_s)

    def verify(self, token: str) -> Actor:
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
            key = self._keys.get(str(kid))
            if key is None:
                raise Unauthorized("token signed with an unknown key")
            claims = jwt.decode(
                token,
                key,
                algorithms=["EdDSA"],  # never 'none', never a symmetric algorithm
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
            self._check_lifetime(claims)
            actor = Actor(
                subject=str(claims["sub"]),
                role=Role(claims["role"]),
                party_id=UUID(str(claims["party_id"])),
            )
            return actor, float(claims["exp"])
        except Unauthorized:
            raise
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired") from exc
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
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
) -> str:
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
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})  # type: ignore[arg-type]
