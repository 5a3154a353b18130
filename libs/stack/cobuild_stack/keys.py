"""The development token issuer: an Ed25519 key pair under var/keys, and `mint_token`.

Only the issuer holds the private key; services get the public keys file
(`{"<kid>": "<public PEM>"}`) through COBUILD_<SERVICE>_JWT_PUBLIC_KEYS_FILE.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
from cobuild_contracts import Role
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .errors import StackError

DEV_KID = "dev-1"
ISSUER = "cobuild-dev"
AUDIENCE = "cobuild"
ROLES = tuple(role.value for role in Role)


@dataclass(frozen=True)
class DevKeys:
    kid: str
    private_key: Path
    public_keys: Path

    def load_private_key(self) -> Ed25519PrivateKey:
        try:
            key = serialization.load_pem_private_key(self.private_key.read_bytes(), None)
        except FileNotFoundError:
            raise StackError(
                f"no dev signing key at {self.private_key}: run `cobuild stack up` first"
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise StackError(f"{self.private_key} is not an Ed25519 private key")
        return key


def dev_keys(keys_dir: Path, kid: str = DEV_KID) -> DevKeys:
    return DevKeys(kid, keys_dir / "dev-issuer.pem", keys_dir / "public-keys.json")


def ensure_dev_keys(keys_dir: Path, kid: str = DEV_KID) -> DevKeys:
    """Generate the key pair if missing; (re)write the public keys file from the private key."""
    keys = dev_keys(keys_dir, kid)
    keys_dir.mkdir(parents=True, exist_ok=True)
    if not keys.private_key.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        keys.private_key.touch(mode=0o600)
        keys.private_key.write_bytes(pem)
    public_pem = (
        keys.load_private_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    published = {kid: public_pem}
    if not keys.public_keys.exists() or json.loads(keys.public_keys.read_text()) != published:
        keys.public_keys.write_text(json.dumps(published, indent=2) + "\n")
    return keys


def mint_token(
    keys: DevKeys,
    *,
    role: str,
    party_id: str,
    sub: str | None = None,
    ttl_seconds: int = 3600,
    now: float | None = None,
) -> str:
    """An EdDSA JWT with header kid and claims sub, role, party_id, iss, aud, iat, exp.

    `sub` defaults to the party id for a member (a member's party is themself) and to
    "<role>@<party_id>" for anyone else.
    """
    if role not in ROLES:
        raise StackError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    if not party_id:
        raise StackError("--party must name the party the token acts for")
    if ttl_seconds <= 0:
        raise StackError("--ttl must be a positive number of seconds")
    issued = int(now if now is not None else time.time())
    claims = {
        "sub": sub or (party_id if role == "member" else f"{role}@{party_id}"),
        "role": role,
        "party_id": party_id,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    return jwt.encode(claims, keys.load_private_key(), algorithm="EdDSA", headers={"kid": keys.kid})
