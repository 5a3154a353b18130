"""An invitation's life: open until accepted (once), withdrawn, or past its expiry.

The link carries a random token; only its hash is kept, so the table cannot be turned back
into working links. The invitee's address is kept only while the invitation is open.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cobuild_kit.errors import Conflict, Gone

TOKEN_BYTES = 32  # 256 bits: unguessable, so a lookup needs no account


class InvitationState(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


@dataclass(frozen=True)
class InvitationFacts:
    expires_at: datetime
    accepted_at: datetime | None
    withdrawn_at: datetime | None


def state(facts: InvitationFacts, now: datetime) -> InvitationState:
    if facts.accepted_at is not None:
        return InvitationState.ACCEPTED
    if facts.withdrawn_at is not None:
        return InvitationState.WITHDRAWN
    if now >= facts.expires_at:
        return InvitationState.EXPIRED
    return InvitationState.OPEN


def require_open(facts: InvitationFacts, now: datetime) -> None:
    """Accepting or renewing needs an open invitation: a used one is a conflict (409, it was
    someone's), an expired or withdrawn one is gone for good (410)."""
    current = state(facts, now)
    if current is InvitationState.ACCEPTED:
        raise Conflict("the invitation has already been used (state accepted)")
    if current is InvitationState.WITHDRAWN:
        raise Gone("the invitation was withdrawn by an admin")
    if current is InvitationState.EXPIRED:
        raise Gone(f"the invitation expired at {facts.expires_at.isoformat()}")


def token_hash(token: str) -> bytes:
    """What is stored of a link's token (SHA-256: the token is random, so no salt is needed)."""
    return hashlib.sha256(token.encode()).digest()
