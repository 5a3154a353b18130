"""Who acts: a plain value with no token library behind it, so that domains can take an
`Actor` and stay pure (docs/ARCHITECTURE.md, "Layout"). `cobuild_kit.auth` makes them from
verified tokens."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from cobuild_contracts import Role


@dataclass(frozen=True)
class Actor:
    """Who acts: the subject, the role, and the party it acts for (a member's own id)."""

    subject: str
    role: Role
    party_id: UUID

    def log_fields(self) -> dict[str, str]:
        return {"actor": self.subject, "role": self.role.value, "actor_party": str(self.party_id)}
