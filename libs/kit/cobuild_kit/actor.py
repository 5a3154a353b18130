"""Who acts: a plain value with no token library behind it, so that domains can take an
`Actor` and stay pure (docs/ARCHITECTURE.md, "Layout"). `cobuild_kit.auth` makes them from
verified tokens."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import NAMESPACE_URL, UUID, uuid5

from cobuild_contracts import Role


@dataclass(frozen=True)
class Actor:
    """Who acts: the subject, the role, and the party it acts for (a member's own id).

    `grant_id` names the access service's grant the token was exchanged for (claim `gid`);
    None for a `person` token and for development tokens (`cobuild token`). A revoked grant's
    tokens are refused by every service (`cobuild_kit.revocations`)."""

    subject: str
    role: Role
    party_id: UUID
    grant_id: UUID | None = None

    def log_fields(self) -> dict[str, str]:
        fields = {"actor": self.subject, "role": self.role.value, "actor_party": str(self.party_id)}
        if self.grant_id is not None:
            fields["grant_id"] = str(self.grant_id)
        return fields


def person_party_id(subject: str) -> UUID:
    """The party a `person` token acts for: a signed-in person with no grant yet is their own
    party, derived from their provider subject so every service computes the same id."""
    return uuid5(NAMESPACE_URL, f"cobuild:person:{subject}")


def is_person(actor: Actor) -> bool:
    """A signed-in person acting for themself (role `person`, party derived from the subject)."""
    return actor.role is Role.PERSON and actor.party_id == person_party_id(actor.subject)
