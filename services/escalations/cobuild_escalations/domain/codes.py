"""Residents' one-time rating codes (the evaluation service's mechanism and bounds): random,
stored as hashes, used once, capped per whistle, and a redemption by the issuing party itself
kept flagged and out of the satisfaction rate."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

UNKNOWN_ADDRESS = "unknown"  # what the kit names a client without an address
CODE_BYTES = 12  # 96 bits of randomness


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def code_hash(code: str) -> str:
    """Only the hash is stored: a leaked table does not leak usable codes."""
    return hashlib.sha256(code.strip().encode()).hexdigest()


def codes_refused(issued: int, count: int, cap: int) -> str | None:
    """Why `count` more codes may not be issued for a whistle that has `issued` already under
    a cap of `cap`, or None."""
    if issued + count <= cap:
        return None
    left = max(cap - issued, 0)
    return (
        f"at most {cap} rating codes per whistle: {issued} issued already, "
        f"{left} more may be issued"
    )


@dataclass(frozen=True)
class Party:
    """Who stands behind a request: its client address, and its token's subject and party
    when it sent one."""

    address: str
    subject: str | None = None
    party_id: str | None = None


def self_redemption(issuer: Party, redeemer: Party) -> str | None:
    """Why a redemption counts as the issuing party's own, or None."""
    if redeemer.subject is not None and redeemer.subject == issuer.subject:
        return "redeemed with the issuing actor's token"
    if redeemer.party_id is not None and redeemer.party_id == issuer.party_id:
        return "redeemed with a token of the issuing party"
    if issuer.address not in ("", UNKNOWN_ADDRESS) and redeemer.address == issuer.address:
        return "redeemed from the address that issued the code"
    return None


def satisfied(rating: int, mark: int) -> bool:
    return rating >= mark
