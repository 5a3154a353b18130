"""My to-do (我的待办): which lines the home page shows, in which order. Pure: the use case
gives it what the services answered, as plain values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

# The states in which the obligor still owes work (the commitments service's WORKING).
OWED_STATES = frozenset({"opened", "claimed", "in_progress"})


class Urgency(StrEnum):
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"


@dataclass(frozen=True)
class OwedCommitment:
    commitment_id: str
    title: str
    counterpart_id: str  # the beneficiary party
    deadline: date
    status: str
    overdue_flag: bool
    funds_fen: int


@dataclass(frozen=True)
class Due:
    commitment: OwedCommitment
    urgency: Urgency
    days_left: int  # negative: days late


def due_list(owed: list[OwedCommitment], today: date, within_days: int) -> list[Due]:
    """Overdue first (the longest late first), then those due within `within_days` (soonest
    first); the rest wait. A commitment past its deadline counts as overdue even before the
    service's scan raised its flag, so the page never shows a late one as merely due."""
    horizon = today + timedelta(days=within_days)
    late: list[Due] = []
    soon: list[Due] = []
    for c in owed:
        if c.status not in OWED_STATES:
            continue
        days_left = (c.deadline - today).days
        if c.overdue_flag or c.deadline < today:
            late.append(Due(c, Urgency.OVERDUE, days_left))
        elif c.deadline <= horizon:
            soon.append(Due(c, Urgency.DUE_SOON, days_left))
    late.sort(key=lambda d: (d.commitment.deadline, d.commitment.title))
    soon.sort(key=lambda d: (d.commitment.deadline, d.commitment.title))
    return late + soon


@dataclass(frozen=True)
class Draft:
    agreement_id: str
    counterpart_id: str
    version: int
    state: str  # negotiating or amending
    proposed_by: str
    created_at_iso: str


def awaiting_my_answer(drafts: list[Draft], my_party: str) -> list[Draft]:
    """Drafts the other side put forward last: the next move is mine."""
    open_states = {"negotiating", "amending"}
    return [d for d in drafts if d.state in open_states and d.proposed_by != my_party]


@dataclass
class Todo:
    """Everything the home page lists, each list already in its order."""

    to_confirm: list[dict[str, object]] = field(default_factory=list)
    due: list[Due] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)
    reports: list[dict[str, object]] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)  # services that did not answer

    @property
    def empty(self) -> bool:
        return not (self.to_confirm or self.due or self.drafts or self.reports)
