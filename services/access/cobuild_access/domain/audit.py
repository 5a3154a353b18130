"""The audit: one append-only record per grant change, sign-in, exchange, refusal and act on
someone's behalf (代录). The district admin reads and exports the records of their district."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID


class AuditKind(StrEnum):
    GRANT_ADDED = "grant.added"
    GRANT_BOOTSTRAPPED = "grant.bootstrapped"  # outside the rules: `cobuild access grant`
    GRANT_REVOKED = "grant.revoked"
    INVITATION_CREATED = "invitation.created"
    INVITATION_RENEWED = "invitation.renewed"
    INVITATION_WITHDRAWN = "invitation.withdrawn"
    INVITATION_ACCEPTED = "invitation.accepted"
    INVITATION_MAILED = "invitation.mailed"
    SIGN_IN = "sign_in"
    EXCHANGE = "exchange"
    REFUSAL = "refusal"
    ON_BEHALF = "on_behalf"
    KEY_ROTATED = "key.rotated"


class Outcome(StrEnum):
    DONE = "done"
    REFUSED = "refused"


@dataclass(frozen=True)
class AuditEntry:
    """`actor` is who did it (a subject, or `service:<name>` for a fact from another
    service's event); `subject` whom it concerns; `party_id` the party it is about, which
    decides which district admins read it."""

    kind: AuditKind
    at: datetime
    actor: str
    actor_role: str | None = None
    actor_party: UUID | None = None
    subject: str | None = None
    role: str | None = None
    party_id: UUID | None = None
    grant_id: UUID | None = None
    invitation_id: UUID | None = None
    outcome: Outcome = Outcome.DONE
    detail: str = ""
    extra: dict[str, str] = field(default_factory=dict)
