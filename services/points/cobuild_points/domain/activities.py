"""Volunteer activities: the window, check-in and attendance guards (fraud rules)."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from cobuild_kit.errors import Conflict, Invalid

from cobuild_points.domain.rules import RuleCategory, RuleSet

HOUR = Decimal(3600)


@dataclass(frozen=True)
class ActivityDraft:
    community_id: UUID
    title: str
    category: str
    starts_at: datetime
    ends_at: datetime
    place: str
    capacity: int
    rule_code: str


def new_check_in_code() -> str:
    """A six-digit code the community shows on site."""
    return f"{secrets.randbelow(1_000_000):06d}"


def window_hours(starts_at: datetime, ends_at: datetime) -> Decimal:
    return Decimal((ends_at - starts_at).total_seconds()) / HOUR


def check_window(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise Invalid("must be after starts_at", field="body.ends_at")
    if window_hours(starts_at, ends_at) > 24:
        raise Invalid("an activity lasts at most 24 hours", field="body.ends_at")


def check_rule(rule_set: RuleSet, code: str) -> None:
    """An activity awards under one of its year's activity rules."""
    rule = rule_set.rules.get(code)
    if rule is None or rule.category is not RuleCategory.ACTIVITY:
        codes = sorted(c for c, r in rule_set.rules.items() if r.category is RuleCategory.ACTIVITY)
        raise Invalid(
            f"must be an activity rule of {rule_set.version}: {codes}", field="body.rule_code"
        )


def check_sign_up(*, now: datetime, ends_at: datetime, taken: int, capacity: int) -> None:
    if now >= ends_at:
        raise Conflict("the activity has ended")
    if taken >= capacity:
        raise Conflict(f"the activity is full ({taken} of {capacity})")


def check_cancel(*, now: datetime, starts_at: datetime, checked_in_at: datetime | None) -> None:
    """A sign-up is withdrawn before the activity starts, and never once checked in."""
    if checked_in_at is not None:
        raise Conflict(f"already checked in at {checked_in_at.isoformat()}: the sign-up stays")
    if now >= starts_at:
        raise Conflict("the activity has started: the sign-up can no longer be cancelled")


def check_in(
    *,
    now: datetime,
    starts_at: datetime,
    ends_at: datetime,
    code: str,
    given: str,
    checked_in_at: datetime | None,
) -> None:
    if checked_in_at is not None:
        raise Conflict(f"already checked in at {checked_in_at.isoformat()}")
    if not starts_at <= now <= ends_at:
        raise Conflict("check-in is open only during the activity's window")
    if not hmac.compare_digest(code.encode(), given.strip().encode()):
        raise Invalid("the check-in code is wrong", field="body.code")


def check_confirmable(
    *,
    signed_up: bool,
    confirmed_at: datetime | None,
    hours: Decimal | None,
    checked_in_at: datetime | None,
) -> None:
    """Attendance is confirmed once, for a member who signed up and checked in."""
    if not signed_up:
        raise Conflict("the member has not signed up for this activity")
    if confirmed_at is not None:
        raise Conflict(f"attendance already confirmed ({hours} h)")
    if checked_in_at is None:
        raise Conflict("the member has not checked in")


def check_hours(hours: Decimal, starts_at: datetime, ends_at: datetime) -> None:
    window = window_hours(starts_at, ends_at)
    if hours > window:
        raise Invalid(
            f"{hours} h is longer than the activity's window of {window.quantize(Decimal('0.01'))} h",
            field="body.hours",
        )
