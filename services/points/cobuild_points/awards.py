"""Granting points: the year's rule set, the caps, the ledger entry and `points.awarded`,
all in the caller's transaction (an HTTP unit of work or a consumer's batch)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

import asyncpg
from cobuild_contracts import Envelope, Event
from cobuild_contracts.events.points import PointsAwarded, PointsReversed
from cobuild_kit.clock import business_date
from cobuild_kit.logging import get_logger

from cobuild_points import ledger, rulebook
from cobuild_points.domain.rules import CapUsage, compute_award

log = get_logger(__name__)
Emit = Callable[[Event], Awaitable[Envelope]]

_USAGE = """
SELECT coalesce(sum(e.points) FILTER (WHERE e.business_date = $3), 0) AS day,
       coalesce(sum(e.points) FILTER (WHERE e.source_id = $4), 0) AS activity,
       coalesce(sum(e.points) FILTER (WHERE e.category = $5), 0) AS category_year
FROM points_entry e
WHERE e.member_id = $1 AND e.year = $2 AND e.kind = 'award'
  AND NOT EXISTS (SELECT 1 FROM points_entry r WHERE r.reverses_entry_id = e.entry_id)
"""


@dataclass(frozen=True)
class AwardRequest:
    member_id: UUID
    rule_code: str
    hours: Decimal | None
    cause_event_id: UUID
    business_date: date
    source_id: UUID
    community_id: UUID
    unit_id: UUID
    at: datetime
    what: str  # what earned it, e.g. "activity <id>": ids only, never personal data


async def award(conn: asyncpg.Connection, emit: Emit, req: AwardRequest) -> asyncpg.Record | None:
    """The new entry; None when this cause was already awarded or the caps leave nothing."""
    year = req.business_date.year
    rule_set = await rulebook.for_year(conn, year, fix_at=req.at)
    rule = rule_set.rule(req.rule_code)
    head = await ledger.lock_chain(conn, req.member_id, year)
    if await ledger.already_awarded(conn, req.cause_event_id, req.member_id, req.rule_code):
        return None
    used = await conn.fetchrow(
        _USAGE, req.member_id, year, req.business_date, req.source_id, rule.category.value
    )
    assert used is not None
    result = compute_award(
        rule_set, rule, req.hours, CapUsage(used["day"], used["activity"], used["category_year"])
    )
    if result.points <= 0:
        log.info(
            "points.nothing_left_under_caps",
            member_id=str(req.member_id),
            cause_event_id=str(req.cause_event_id),
            cap=result.cap_reason,
        )
        return None
    hours = f" for {req.hours} h" if req.hours is not None else ""
    entry = await ledger.append(
        conn,
        head,
        ledger.NewEntry(
            member_id=req.member_id,
            year=year,
            kind="award",
            points=result.points,
            reason=f"{rule.label}: {req.what}{hours}{result.reason_suffix}",
            cause_event_id=req.cause_event_id,
            rule_code=rule.code,
            rule_set_version=rule_set.version,
            category=rule.category.value,
            source_id=req.source_id,
            community_id=req.community_id,
            unit_id=req.unit_id,
            business_date=req.business_date,
            recorded_at=req.at,
            capped=result.capped,
            cap_reason=result.cap_reason,
        ),
    )
    await emit(awarded_event(entry))
    return entry


def awarded_event(entry: asyncpg.Record) -> PointsAwarded:
    return PointsAwarded(
        entry_id=entry["entry_id"],
        member_id=entry["member_id"],
        year=entry["year"],
        points=entry["points"],
        reason=entry["reason"],
        cause_event_id=entry["cause_event_id"],
        rule_code=entry["rule_code"],
        rule_set_version=entry["rule_set_version"],
        community_id=entry["community_id"],
        unit_id=entry["unit_id"],
        business_date=entry["business_date"],
        capped=entry["capped"],
        awarded_at=entry["recorded_at"],
    )


async def reverse(
    conn: asyncpg.Connection, emit: Emit, entry_id: UUID, *, reason: str, at: datetime
) -> asyncpg.Record:
    reversal, original = await ledger.reverse(
        conn, entry_id, reason=reason, at=at, business_day=business_date(at)
    )
    await emit(
        PointsReversed(
            entry_id=reversal["entry_id"],
            reverses_entry_id=original["entry_id"],
            member_id=reversal["member_id"],
            year=reversal["year"],
            points=original["points"],
            reason=reason,
            cause_event_id=reversal["cause_event_id"],
            community_id=reversal["community_id"],
            unit_id=reversal["unit_id"],
            business_date=reversal["business_date"],
            reversed_at=at,
        )
    )
    return reversal
