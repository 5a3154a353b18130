"""The routing table: where a district's whistles go, and the time limits they carry.

A table belongs to one district and is data its admins edit; every edit is a new version, and
a whistle keeps the version it was routed with (its receiver and limits are fixed at routing),
so a change applies to new matters only. Version 0 is the built-in table a district has before
its admins write one: every whistle goes to the level above its raiser, with `DEFAULT_LIMITS`.

Routing (三级吹哨): a rule names a department (a unit of type government office) for a category,
a raiser's level and a street, each optional; the most specific rule that matches wins (street,
then category, then level), the earlier of two equally specific ones. No rule: the level above
(a community's whistle to its street, a street's to its district).

Limits: per category and urgency, to respond (报到: accept and name who comes) and to resolve,
each in working hours ("4h") or working days ("3d") on the working calendar. A category's own
limit beats the table's limit for any category, which beats `DEFAULT_LIMITS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from cobuild_contracts.events.escalations import Level, ReceiverKind, Urgency
from cobuild_kit.working_time import Deadline, WorkingCalendar, WorkingHours

from cobuild_escalations.domain.rules import RuleViolation

_SPAN = re.compile(r"^([1-9][0-9]{0,2})([hd])$")


class SpanUnit(StrEnum):
    HOURS = "h"
    DAYS = "d"


@dataclass(frozen=True)
class Span:
    """A time limit in working time: `amount` working hours or working days."""

    amount: int
    unit: SpanUnit

    @classmethod
    def parse(cls, text: str, field: str) -> Span:
        m = _SPAN.fullmatch(text.strip())
        if m is None:
            raise RuleViolation(
                f"{text!r} is not a time limit: working hours like '4h' or days like '3d' "
                "(1 to 999)",
                field,
            )
        return cls(int(m.group(1)), SpanUnit(m.group(2)))

    def __str__(self) -> str:
        return f"{self.amount}{self.unit.value}"

    def after(self, start: datetime, calendar: WorkingCalendar, hours: WorkingHours) -> Deadline:
        if self.unit is SpanUnit.HOURS:
            return calendar.add_working_hours(start, timedelta(hours=self.amount), hours)
        return calendar.add_working_days(start, self.amount, hours)

    def working_hours(self, hours: WorkingHours) -> timedelta:
        """Its length in working time, to compare two limits (a day is a working day)."""
        if self.unit is SpanUnit.HOURS:
            return timedelta(hours=self.amount)
        return hours.length * self.amount


@dataclass(frozen=True)
class Limits:
    respond: Span
    resolve: Span


DEFAULT_LIMITS: dict[Urgency, Limits] = {
    Urgency.NORMAL: Limits(Span(1, SpanUnit.DAYS), Span(5, SpanUnit.DAYS)),
    Urgency.URGENT: Limits(Span(2, SpanUnit.HOURS), Span(1, SpanUnit.DAYS)),
}


@dataclass(frozen=True)
class RoutingRule:
    """Send matching whistles to a department. Unset fields match anything."""

    department_id: UUID
    category: str | None = None
    raiser_level: Level | None = None
    street_id: UUID | None = None

    def matches(self, category: str, level: Level, street_id: UUID) -> bool:
        return (
            self.category in (None, category)
            and self.raiser_level in (None, level)
            and self.street_id in (None, street_id)
        )

    @property
    def specificity(self) -> int:
        return (
            4 * (self.street_id is not None)
            + 2 * (self.category is not None)
            + (self.raiser_level is not None)
        )

    @property
    def scope(self) -> tuple[str | None, Level | None, UUID | None]:
        return self.category, self.raiser_level, self.street_id


@dataclass(frozen=True)
class LimitRule:
    urgency: Urgency
    limits: Limits
    category: str | None = None


@dataclass(frozen=True)
class RoutingTable:
    district_id: UUID
    version: int  # 0: the built-in table
    rules: tuple[RoutingRule, ...] = ()
    limits: tuple[LimitRule, ...] = ()
    note: str = ""

    def check(self, hours: WorkingHours) -> None:
        """One rule per scope, one limit per category and urgency, and no limit to resolve
        shorter than its limit to respond."""
        scopes: set[tuple[str | None, Level | None, UUID | None]] = set()
        for i, r in enumerate(self.rules):
            if r.scope in scopes:
                raise RuleViolation(
                    "another rule has the same category, level and street", f"body.rules.{i}"
                )
            scopes.add(r.scope)
        keys: set[tuple[str | None, Urgency]] = set()
        for i, lr in enumerate(self.limits):
            key = (lr.category, lr.urgency)
            if key in keys:
                raise RuleViolation(
                    "another limit has the same category and urgency", f"body.limits.{i}"
                )
            keys.add(key)
            if lr.limits.resolve.working_hours(hours) < lr.limits.respond.working_hours(hours):
                raise RuleViolation(
                    "the limit to resolve is shorter than the limit to respond",
                    f"body.limits.{i}.resolve",
                )

    def department_for(self, category: str, level: Level, street_id: UUID) -> UUID | None:
        """The department the most specific matching rule names, or None (the level above)."""
        best: RoutingRule | None = None
        for r in self.rules:
            if r.matches(category, level, street_id) and (
                best is None or r.specificity > best.specificity
            ):
                best = r
        return None if best is None else best.department_id

    def limits_for(self, category: str, urgency: Urgency) -> Limits:
        general: Limits | None = None
        for lr in self.limits:
            if lr.urgency is not urgency:
                continue
            if lr.category == category:
                return lr.limits
            if lr.category is None:
                general = lr.limits
        return general or DEFAULT_LIMITS[urgency]


def builtin_table(district_id: UUID) -> RoutingTable:
    return RoutingTable(district_id, 0, note="built-in: every whistle to the level above")


@dataclass(frozen=True)
class Route:
    """Where a new whistle goes and by when it must be answered."""

    receiver_party_id: UUID
    receiver_kind: ReceiverKind
    table: RoutingTable
    respond_by: Deadline
    resolve_by: Deadline


def level_above(level: Level) -> Level:
    return Level.STREET if level is Level.COMMUNITY else Level.DISTRICT


def route(
    table: RoutingTable,
    *,
    category: str,
    urgency: Urgency,
    raiser_level: Level,
    street_id: UUID,
    district_id: UUID,
    raised_at: datetime,
    calendar: WorkingCalendar,
    hours: WorkingHours,
) -> Route:
    department = table.department_for(category, raiser_level, street_id)
    if department is not None:
        receiver, kind = department, ReceiverKind.DEPARTMENT
    elif level_above(raiser_level) is Level.STREET:
        receiver, kind = street_id, ReceiverKind.STREET
    else:
        receiver, kind = district_id, ReceiverKind.DISTRICT
    limits = table.limits_for(category, urgency)
    return Route(
        receiver,
        kind,
        table,
        limits.respond.after(raised_at, calendar, hours),
        limits.resolve.after(raised_at, calendar, hours),
    )
