"""The unit's tasks board (任务看板): which column each commitment the unit owes stands in,
and what its admin may do with it there. Pure: the use case gives it the service's answers.

The columns follow the commitments service's states, with overdue drawn out of the owed
ones (ARCHITECTURE.md, "Overdue"): a commitment marked done waits for confirmation in its
own column even when it was late, because the next move is the community's."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from cobuild_console.domain.refusals import N_


class Column(StrEnum):
    TO_CLAIM = "to_claim"  # 待认领
    IN_PROGRESS = "in_progress"  # 履约中
    AWAITING = "awaiting"  # 已完成待确认
    OVERDUE = "overdue"  # 已逾期


# The board's order: what needs the unit's hand first.
COLUMNS = (Column.OVERDUE, Column.TO_CLAIM, Column.IN_PROGRESS, Column.AWAITING)
OWED = frozenset({"opened", "claimed", "in_progress"})


def column_of(status: str, overdue_flag: bool, deadline: date, today: date) -> Column | None:
    """None: fulfilled or cancelled, off the board. A commitment still owed after its
    deadline is overdue even before the service's scan raised its flag."""
    if status in OWED and (overdue_flag or deadline < today):
        return Column.OVERDUE
    if status == "opened":
        return Column.TO_CLAIM
    if status in ("claimed", "in_progress"):
        return Column.IN_PROGRESS
    if status == "done_pending_confirmation":
        return Column.AWAITING
    return None


@dataclass(frozen=True)
class Moves:
    """What the unit's admin may do with a commitment in its current state."""

    claim: bool
    assign: bool
    report: bool  # progress and evidence
    mark_done: bool
    evidence: bool


def moves(status: str) -> Moves:
    working = status in ("claimed", "in_progress")
    return Moves(
        claim=status == "opened",
        assign=working,
        report=working,
        mark_done=working,
        # Evidence may still be added while the community looks at the work.
        evidence=working or status == "done_pending_confirmation",
    )


class EntryError(ValueError):
    """A typed entry that is not what the field takes; `reason` is a message id."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


HOURS_FORMAT = N_("Enter hours such as 2 or 1.5 (more than 0, at most 24).")
_HOURS = re.compile(r"^\d{1,2}(\.\d{1,2})?$")


def hours(text: str) -> Decimal | None:
    """A participant's hours as typed; empty: did not take part. The service's bounds:
    more than 0, at most 24, two decimals."""
    cleaned = text.strip()
    if not cleaned:
        return None
    if not _HOURS.fullmatch(cleaned):
        raise EntryError(HOURS_FORMAT)
    try:
        value = Decimal(cleaned)
    except InvalidOperation as bad:
        raise EntryError(HOURS_FORMAT) from bad
    if not Decimal(0) < value <= Decimal(24):
        raise EntryError(HOURS_FORMAT)
    return value


PERCENT_FORMAT = N_("Enter a whole number from 0 to 100.")


def percent(text: str) -> int:
    cleaned = text.strip().removesuffix("%").strip()
    if not cleaned.isdigit() or not 0 <= int(cleaned) <= 100:
        raise EntryError(PERCENT_FORMAT)
    return int(cleaned)
