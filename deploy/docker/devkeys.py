"""Development JWT keys for `docker compose`: the compose counterpart of `cobuild token`.

    python devkeys.py ensure ISSUER_DIR [--public-file FILE]   # key pair, if absent
    python devkeys.py token ISSUER_DIR --role unit_admin --party <uuid> [--sub S] [--ttl 3600]

The file names are the launcher's (cobuild_stack.keys): `dev-issuer.pem` (the Ed25519 private
key, which only the issuer reads) and `public-keys.json` ({"dev-1": "<public PEM>"}, what the
services verify with). `--public-file` writes the public keys elsewhere, so the services can
mount them without the private key. Production keys come from the identity provider instead;
see deploy/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KID = "dev-1"
ISSUER = "cobuild-dev"
AUDIENCE = "cobuild"


def ensure(keys_dir: Path, public_path: Path | None = None) -> None:
    private_path = keys_dir / "dev-issuer.pem"
    public_path = public_path or keys_dir / "public-keys.json"
    keys_dir.mkdir(parents=True, exist_ok=True)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    if not private_path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        print(f"generated {private_path}")
    public_pem = (
        _private_key(private_path)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    public_path.write_text(json.dumps({KID: public_pem}, indent=2) + "\n")
    public_path.chmod(0o644)  # services run as another user and only read this file
    print(f"public keys in {public_path} (kid {KID})")


def token(keys_dir: Path, *, role: str, party: str, sub: str | None, ttl: int) -> str:
    now = int(time.time())
    claims = {
        "sub": sub or (party if role == "member" else f"{role}@{party}"),
        "role": role,
        "party_id": party,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl,
    }
    key = _private_key(keys_dir / "dev-issuer.pem")
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": KID})


def _private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit(f"{path} is not an Ed25519 private key")
    return key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ensure_cmd = sub.add_parser("ensure", help="generate the key pair if it is missing")
    ensure_cmd.add_argument("keys_dir", type=Path)
    ensure_cmd.add_argument("--public-file", type=Path)
    token_cmd = sub.add_parser("token", help="mint a development JWT")
    token_cmd.add_argument("keys_dir", type=Path)
    token_cmd.add_argument("--role", required=True)
    token_cmd.add_argument("--party", required=True)
    token_cmd.add_argument("--sub")
    token_cmd.add_argument("--ttl", type=int, default=3600)
    args = parser.parse_args(argv)
    if args.command == "ensure":
        ensure(args.keys_dir, args.public_file)
    else:
        print(token(args.keys_dir, role=args.role, party=args.party, sub=args.sub, ttl=args.ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
