"""An alliance's membership and its rotating chair (轮值主席), as pure rules.

Membership is a history of stints: a unit joins on a date and may leave on a later one (and
join again). The rotation is a history of orders, each in force from a date. Whose turn it is
follows from the two:

- per meeting: the next chair is the unit after the previous meeting's chair in the order in
  force on the meeting's date, skipping units that are not members that day; the first
  meeting (or one whose previous chair is no longer in the order) starts at the order's head;
- per period (every `period_months` months, from the first of the month the rotation starts):
  period k's chair is the unit after period k-1's chair, skipping units that are not members
  on the period's first day; every meeting in a period is chaired by that period's unit.

A unit that left is skipped, never removed: the order keeps it for the record of who chaired.
Nothing here does I/O; the store loads these values and the use cases ask them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from cobuild_contracts.enums import RotationMode
from cobuild_kit.errors import Conflict, Invalid

# Upcoming turns shown with a rotation: enough for a year of monthly meetings.
UPCOMING = 12


@dataclass(frozen=True)
class Stint:
    """One period of membership: `left_on` is the first day the unit is no longer a member."""

    unit_id: UUID
    joined_on: date
    left_on: date | None = None

    def covers(self, day: date) -> bool:
        return self.joined_on <= day and (self.left_on is None or day < self.left_on)


@dataclass(frozen=True)
class Membership:
    stints: tuple[Stint, ...]

    def is_member(self, unit_id: UUID, day: date) -> bool:
        return any(s.unit_id == unit_id and s.covers(day) for s in self.stints)

    def members_on(self, day: date) -> list[UUID]:
        """The members on `day`, in the order they (last) joined."""
        seen: dict[UUID, date] = {}
        for s in self.stints:
            if s.covers(day):
                seen[s.unit_id] = s.joined_on
        return sorted(seen, key=lambda u: (seen[u], str(u)))

    def current_stint(self, unit_id: UUID) -> Stint | None:
        """The unit's open stint (not left, or leaving on a date still to come)."""
        open_ = [s for s in self.stints if s.unit_id == unit_id and s.left_on is None]
        return open_[-1] if open_ else None

    def ever(self, unit_id: UUID) -> bool:
        return any(s.unit_id == unit_id for s in self.stints)

    def check_join(self, unit_id: UUID, joined_on: date, field: str) -> None:
        if self.current_stint(unit_id) is not None:
            raise Conflict(f"unit {unit_id} is already a member", field=field)
        for s in self.stints:
            if s.unit_id == unit_id and s.left_on is not None and joined_on < s.left_on:
                raise Invalid(
                    f"unit {unit_id} was a member until {s.left_on}; it can join again on "
                    "or after that day",
                    field="body.joined_on",
                )

    def check_leave(self, unit_id: UUID, left_on: date) -> Stint:
        stint = self.current_stint(unit_id)
        if stint is None:
            raise Conflict(f"unit {unit_id} is not a member", field="path.unit_id")
        if left_on <= stint.joined_on:
            raise Invalid(
                f"must be after the day the unit joined ({stint.joined_on})",
                field="body.left_on",
            )
        return stint


@dataclass(frozen=True)
class Order:
    """One version of the rotation: the chairing units in turn, in force from a date."""

    version: int
    effective_from: date
    units: tuple[UUID, ...]


def add_months(day: date, months: int) -> date:
    """The first of the month `months` after `day`'s month."""
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Turn:
    """A turn in the rotation: per period, the period's first day and its chair."""

    number: int  # per meeting: the meeting's number; per period: the period's (from 1)
    starts_on: date | None  # per period only
    chair_unit_id: UUID | None


@dataclass(frozen=True)
class Rotation:
    mode: RotationMode
    period_months: int | None
    orders: tuple[Order, ...]  # by version; at least one
    membership: Membership

    @property
    def latest(self) -> Order:
        return self.orders[-1]

    @property
    def starts_on(self) -> date:
        return self.orders[0].effective_from

    def order_on(self, day: date) -> tuple[UUID, ...]:
        """The order in force on `day`: the latest version in force by then (before the
        first version's date: the first)."""
        chosen = self.orders[0]
        for o in self.orders:
            if o.effective_from <= day:
                chosen = o
        return chosen.units

    def successor(self, previous: UUID | None, day: date) -> UUID | None:
        """The unit after `previous` in the order in force on `day`, skipping units that are
        not members that day; the order's first member when there is no previous chair (or
        it is no longer in the order); None when no unit of the order is a member."""
        order = self.order_on(day)
        if not order:
            return None
        start = order.index(previous) + 1 if previous in order else 0
        for step in range(len(order)):
            unit = order[(start + step) % len(order)]
            if self.membership.is_member(unit, day):
                return unit
        return None

    # -- per period ----------------------------------------------------------------------

    def period_start(self, k: int) -> date:
        assert self.period_months is not None
        return add_months(self.starts_on.replace(day=1), k * self.period_months)

    def period_of(self, day: date) -> int:
        """The period `day` falls in (0 for any day before the rotation starts)."""
        assert self.period_months is not None
        first = self.starts_on.replace(day=1)
        months = (day.year - first.year) * 12 + day.month - first.month
        return max(0, months // self.period_months)

    def period_chairs(self, through: int) -> list[UUID | None]:
        """The chair of every period from 0 to `through`."""
        out: list[UUID | None] = []
        previous: UUID | None = None
        for k in range(through + 1):
            chair = self.successor(previous, self.period_start(k))
            out.append(chair)
            previous = chair if chair is not None else previous
        return out

    # -- whose turn ------------------------------------------------------------------------

    def chair_for(self, day: date, previous_chair: UUID | None) -> UUID | None:
        """The chair of a meeting held on `day`, after a meeting chaired by `previous_chair`
        (per meeting; per period the period decides)."""
        if self.mode is RotationMode.PER_PERIOD:
            return self.period_chairs(self.period_of(day))[-1]
        return self.successor(previous_chair, day)

    def upcoming(
        self, today: date, previous_chair: UUID | None, next_number: int, count: int = UPCOMING
    ) -> list[Turn]:
        """The next turns, as the membership and orders known today give them: per meeting,
        the chairs of the next `count` meetings (numbered from `next_number`) held today or
        later; per period, the current period and the ones after it."""
        if self.mode is RotationMode.PER_PERIOD:
            first = self.period_of(today)
            chairs = self.period_chairs(first + count - 1)
            return [
                Turn(k + 1, self.period_start(k), chairs[k]) for k in range(first, first + count)
            ]
        turns: list[Turn] = []
        previous = previous_chair
        for n in range(count):
            chair = self.successor(previous, today)
            turns.append(Turn(next_number + n, None, chair))
            previous = chair if chair is not None else previous
        return turns


def check_order(units: Sequence[UUID], membership: Membership, field: str) -> None:
    """Every unit of an order is or was a member, and appears once."""
    seen: set[UUID] = set()
    for n, unit in enumerate(units):
        if unit in seen:
            raise Invalid(f"unit {unit} is named twice", field=f"{field}.{n}")
        seen.add(unit)
        if not membership.ever(unit):
            raise Invalid(f"unit {unit} is not a member of the alliance", field=f"{field}.{n}")


def check_after_last_meeting(day: date, last_held_on: date | None, field: str) -> None:
    """Membership and rotation changes, and new meetings, may not reach back before the
    last meeting recorded: the chairs already recorded would no longer follow."""
    if last_held_on is not None and day < last_held_on:
        raise Invalid(f"must not be before the last meeting recorded ({last_held_on})", field=field)


def check_present(
    present: Iterable[UUID], membership: Membership, day: date, field: str
) -> list[UUID]:
    out: list[UUID] = []
    for n, unit in enumerate(present):
        if unit in out:
            raise Invalid(f"unit {unit} is named twice", field=f"{field}.{n}")
        if not membership.is_member(unit, day):
            raise Invalid(f"unit {unit} is not a member on {day}", field=f"{field}.{n}")
        out.append(unit)
    return out


__all__ = [
    "UPCOMING",
    "Membership",
    "Order",
    "Rotation",
    "Stint",
    "Turn",
    "add_months",
    "check_after_last_meeting",
    "check_order",
    "check_present",
]
