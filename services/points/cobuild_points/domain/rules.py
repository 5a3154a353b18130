"""Point rules and caps: versioned data, applied by pure functions.

A rule turns service (hours, or one fulfilled wish) into points; caps then cut the award so that
a member earns at most so much per day, per activity (or task, or wish) and per category a year.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class RuleCategory(StrEnum):
    ACTIVITY = "activity"
    TASK = "task"
    WISH = "wish"


def points(value: Decimal | str | int) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Rule:
    code: str
    category: RuleCategory
    label: str
    per_hour: Decimal | None = None
    flat: Decimal | None = None

    def amount(self, hours: Decimal | None) -> Decimal:
        """What the rule grants before caps."""
        if self.per_hour is not None:
            if hours is None or hours <= 0:
                raise ValueError(f"rule {self.code} needs positive hours")
            return points(self.per_hour * hours)
        assert self.flat is not None
        return points(self.flat)


@dataclass(frozen=True)
class Caps:
    per_day: Decimal
    per_activity: Decimal
    per_category_year: Mapping[RuleCategory, Decimal]


@dataclass(frozen=True)
class RuleSet:
    version: str
    applies_from_year: int
    rules: Mapping[str, Rule]
    caps: Caps

    def rule(self, code: str) -> Rule:
        try:
            return self.rules[code]
        except KeyError:
            raise KeyError(f"rule {code!r} is not in rule set {self.version}") from None


def parse_rule_set(doc: Mapping[str, Any]) -> RuleSet:
    """A rule set from its YAML/JSON document (strict: a bad document fails at start)."""
    rules: dict[str, Rule] = {}
    for code, spec in doc["rules"].items():
        per_hour, flat = spec.get("per_hour"), spec.get("flat")
        if (per_hour is None) == (flat is None):
            raise ValueError(f"rule {code}: give exactly one of per_hour and flat")
        rules[code] = Rule(
            code=code,
            category=RuleCategory(spec["category"]),
            label=str(spec.get("label", code)),
            per_hour=points(str(per_hour)) if per_hour is not None else None,
            flat=points(str(flat)) if flat is not None else None,
        )
    caps = doc["caps"]
    per_category = {RuleCategory(k): points(str(v)) for k, v in caps["per_category_year"].items()}
    missing = set(RuleCategory) - set(per_category)
    if missing:
        raise ValueError(f"caps.per_category_year lacks {sorted(missing)}")
    return RuleSet(
        version=str(doc["version"]),
        applies_from_year=int(doc["applies_from_year"]),
        rules=rules,
        caps=Caps(
            per_day=points(str(caps["per_day"])),
            per_activity=points(str(caps["per_activity"])),
            per_category_year=per_category,
        ),
    )


def rule_set_for_new_year(sets: list[RuleSet], year: int) -> RuleSet:
    """The version a year starts with: the newest one that applies from that year or before."""
    candidates = [s for s in sets if s.applies_from_year <= year]
    if not candidates:
        raise LookupError(f"no rule set applies to {year}")
    return max(candidates, key=lambda s: (s.applies_from_year, s.version))


@dataclass(frozen=True)
class CapUsage:
    """Points the member already holds (net of reversals) that count against each cap."""

    day: Decimal = ZERO
    activity: Decimal = ZERO
    category_year: Decimal = ZERO


PartKey = tuple[UUID, int, str, str]  # (member, year, part, key): what a cap counts
PartKeys = tuple[PartKey, PartKey, PartKey]  # an award's day, source and category


def part_keys(member_id: UUID, day: date, source_id: UUID, category: str) -> PartKeys:
    """The three parts an award counts against (points migration 0003 keeps them)."""
    y = day.year
    return (
        (member_id, y, "day", day.isoformat()),
        (member_id, y, "source", str(source_id)),
        (member_id, y, "category", category),
    )


class CapTally:
    """The kept awards' points by the parts the caps count, for the awards at hand, moved as
    a run of awards appends (so a run caps each award as if the ones before were stored)."""

    def __init__(self, points: dict[PartKey, Decimal]) -> None:
        self.points = dict(points)

    def of(self, keys: PartKeys) -> CapUsage:
        day, source, category_year = (self.points.get(k, ZERO) for k in keys)
        return CapUsage(day, source, category_year)

    def add(self, keys: PartKeys, amount: Decimal) -> None:
        for k in keys:
            self.points[k] = self.points.get(k, ZERO) + amount


@dataclass(frozen=True)
class Award:
    requested: Decimal
    points: Decimal
    capped: bool
    cap_reason: str | None

    @property
    def reason_suffix(self) -> str:
        if not self.capped:
            return ""
        return f"; capped by the {self.cap_reason} ({self.requested} → {self.points})"


def compute_award(rule_set: RuleSet, rule: Rule, hours: Decimal | None, usage: CapUsage) -> Award:
    """The rule's amount, cut to the tightest cap's remaining room."""
    requested = rule.amount(hours)
    caps = rule_set.caps
    limits = (
        ("daily cap", caps.per_day - usage.day),
        ("per-activity cap", caps.per_activity - usage.activity),
        (
            f"{rule.category.value} yearly cap",
            caps.per_category_year[rule.category] - usage.category_year,
        ),
    )
    granted, reason = requested, None
    for name, room in limits:
        room = max(room, ZERO)
        if granted > room:
            granted, reason = room, name
    return Award(requested, points(granted), granted < requested, reason)
