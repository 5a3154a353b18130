"""Which commitments a list or a task inbox shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from cobuild_commitments.domain.commitment import RuleViolation, Status


@dataclass(frozen=True)
class Filters:
    agreement_id: UUID | None = None
    unit_id: UUID | None = None
    community_id: UUID | None = None
    obligor_party_id: UUID | None = None
    status: Status | None = None
    overdue: bool | None = None
    deadline_from: date | None = None
    deadline_to: date | None = None
    # Visibility: only commitments touching one of these parties (None: no restriction).
    visible_to: Sequence[UUID] | None = None

    def check(self) -> None:
        if self.deadline_from and self.deadline_to and self.deadline_to < self.deadline_from:
            raise RuleViolation("deadline_to is before deadline_from", "query.deadline_to")
