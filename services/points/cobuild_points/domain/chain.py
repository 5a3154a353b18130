"""The hash chain of a member-year journal: each entry's hash covers its content and the
previous entry's hash, so an altered or removed entry breaks every hash after it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

from cobuild_points.domain.rules import points


def genesis_hash(member_id: UUID, year: int) -> str:
    return hashlib.sha256(f"cobuild-points|{member_id}|{year}".encode()).hexdigest()


@dataclass(frozen=True)
class EntryContent:
    entry_id: UUID
    member_id: UUID
    year: int
    seq: int
    kind: str
    points: Decimal
    reason: str
    cause_event_id: UUID
    rule_code: str
    rule_set_version: str
    community_id: UUID
    unit_id: UUID
    business_date: date
    capped: bool
    reverses_entry_id: UUID | None
    recorded_at: datetime

    def canonical(self) -> str:
        fields = (
            self.entry_id,
            self.member_id,
            self.year,
            self.seq,
            self.kind,
            format(points(self.points), "f"),
            self.reason,
            self.cause_event_id,
            self.rule_code,
            self.rule_set_version,
            self.community_id,
            self.unit_id,
            self.business_date.isoformat(),
            "1" if self.capped else "0",
            self.reverses_entry_id or "",
            self.recorded_at.astimezone(UTC).isoformat(),
        )
        return "\x1f".join(str(f) for f in fields)


def entry_hash(prev_hash: str, content: EntryContent) -> str:
    return hashlib.sha256(f"{prev_hash}\x1e{content.canonical()}".encode()).hexdigest()
