"""The hash chain of a member-year journal: each entry's hash covers its content and the
previous entry's hash, so an altered or removed entry breaks every hash after it. `YearAudit`
walks a year's chains, fed their entries in order, and names the first entry that does not hold.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from cobuild_points.domain.rules import ZERO, points


def genesis_hash(member_id: UUID, year: int) -> str:
    return hashlib.sha256(f"cobuild-points|{member_id}|{year}".encode()).hexdigest()


@dataclass(frozen=True)
class ChainHead:
    """A member-year chain's head row: the last hash, how many entries, their sum."""

    member_id: UUID
    year: int
    head_hash: str
    length: int
    balance: Decimal


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


@dataclass(frozen=True)
class ChainedEntry:
    """A stored entry as the chain sees it: its hashed content and the two hashes."""

    content: EntryContent
    prev_hash: str
    hash: str


# --- verification ----------------------------------------------------------------------


@dataclass(frozen=True)
class BadEntry:
    member_id: UUID
    entry_id: UUID | None
    seq: int | None
    problem: str


@dataclass(frozen=True)
class VerifyReport:
    year: int
    ok: bool
    chains_checked: int
    entries_checked: int
    first_bad: BadEntry | None

    def as_dict(self) -> dict[str, Any]:
        bad = self.first_bad
        return {
            "year": self.year,
            "ok": self.ok,
            "chains_checked": self.chains_checked,
            "entries_checked": self.entries_checked,
            "first_bad": None
            if bad is None
            else {
                "member_id": str(bad.member_id),
                "entry_id": str(bad.entry_id) if bad.entry_id else None,
                "seq": bad.seq,
                "problem": bad.problem,
            },
        }


class _ChainWalk:
    """One member-year chain, fed its entries in seq order."""

    def __init__(self, member_id: UUID, year: int) -> None:
        self.member_id = member_id
        self.prev = genesis_hash(member_id, year)
        self.seq = 0
        self.balance = ZERO
        self.last: EntryContent | None = None

    def feed(self, entry: ChainedEntry) -> BadEntry | None:
        self.seq += 1
        bad = self._check(entry)
        self.prev, self.last = entry.hash, entry.content
        self.balance += entry.content.points
        return bad

    def _check(self, entry: ChainedEntry) -> BadEntry | None:
        row = entry.content

        def bad(problem: str) -> BadEntry:
            return BadEntry(self.member_id, row.entry_id, row.seq, problem)

        if row.seq != self.seq:
            return bad(f"seq {row.seq} where {self.seq} was expected: an entry was removed")
        if entry.prev_hash != self.prev:
            return bad(
                "prev_hash does not match the previous entry: an entry was removed or altered"
            )
        if entry_hash(self.prev, row) != entry.hash:
            return bad("the entry's content does not match its hash: it was altered")
        if (row.kind == "award") != (row.points > 0):
            return bad("the entry's sign does not match its kind")
        return None

    def close(self, head: ChainHead | None) -> BadEntry | None:
        last_id = self.last.entry_id if self.last is not None else None
        last_seq = self.last.seq if self.last is not None else None
        if head is None:
            return BadEntry(self.member_id, last_id, last_seq, "the chain has no head row")
        if head.head_hash != self.prev or head.length != self.seq:
            return BadEntry(
                self.member_id,
                last_id,
                last_seq,
                "the chain head does not match its last entry: an entry at the end was removed",
            )
        if head.balance != self.balance:
            return BadEntry(self.member_id, last_id, last_seq, "the chain balance was altered")
        return None


class YearAudit:
    """Every member chain of a year: fed the year's entries ordered by member and seq, it
    stops at the first bad one; `report` then also checks the heads no entry was fed for."""

    def __init__(self, year: int, heads: dict[UUID, ChainHead]) -> None:
        self.year = year
        self.heads = heads
        self.chains = 0
        self.entries = 0
        self.bad: BadEntry | None = None
        self._walk: _ChainWalk | None = None
        self._seen: set[UUID] = set()

    def feed(self, entry: ChainedEntry) -> bool:
        """False once an entry (this one or the chain it closes) does not hold: stop feeding."""
        self.entries += 1
        walk = self._walk
        if walk is None or walk.member_id != entry.content.member_id:
            if walk is not None and (bad := walk.close(self.heads.get(walk.member_id))):
                self.bad = bad
                return False
            walk = self._walk = _ChainWalk(entry.content.member_id, self.year)
            self._seen.add(walk.member_id)
            self.chains += 1
        self.bad = walk.feed(entry)
        return self.bad is None

    def report(self) -> VerifyReport:
        """After the last entry fed (or the first bad one)."""
        bad = self.bad or self._rest()
        return VerifyReport(self.year, bad is None, self.chains, self.entries, bad)

    def _rest(self) -> BadEntry | None:
        walk = self._walk
        if walk is not None and (bad := walk.close(self.heads.get(walk.member_id))):
            return bad
        for member_id in sorted(set(self.heads) - self._seen):
            if self.heads[member_id].length != 0:
                return BadEntry(member_id, None, None, "the chain's entries were removed")
        return None
