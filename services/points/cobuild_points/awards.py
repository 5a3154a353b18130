"""Granting points: the year's rule set, the caps, the ledger entry and `points.awarded`,
all in the caller's transaction (an HTTP unit of work or a consumer's batch)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts import Envelope, Event
from cobuild_contracts.events.points import PointsAwarded, PointsReversed
from cobuild_kit.clock import business_date
from cobuild_kit.logging import get_logger

from cobuild_points import ledger, rulebook
from cobuild_points.domain.rules import ZERO, Award, CapUsage, Rule, RuleSet, compute_award

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
        _nothing_left(req, result, log.info)
        return None
    entry = await ledger.append(conn, head, _new_entry(req, rule_set, rule, result))
    await emit(awarded_event(entry))
    return entry


def _new_entry(req: AwardRequest, rule_set: RuleSet, rule: Rule, result: Award) -> ledger.NewEntry:
    hours = f" for {req.hours} h" if req.hours is not None else ""
    return ledger.NewEntry(
        member_id=req.member_id,
        year=req.business_date.year,
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
    )


def _nothing_left(req: AwardRequest, result: Award, write: Callable[..., Any]) -> None:
    write(
        "points.nothing_left_under_caps",
        member_id=str(req.member_id),
        cause_event_id=str(req.cause_event_id),
        cap=result.cap_reason,
    )


# --- a run of awards at once ------------------------------------------------------------

EmitCaused = Callable[[Event, Envelope], Awaitable[Envelope]]
_USAGE_PARTS = """
SELECT e.member_id, e.year, e.business_date, e.source_id, e.category, sum(e.points) AS points
FROM points_entry e JOIN unnest($1::uuid[], $2::int[]) AS k(m, y)
  ON e.member_id = k.m AND e.year = k.y
WHERE e.kind = 'award'
  AND NOT EXISTS (SELECT 1 FROM points_entry r WHERE r.reverses_entry_id = e.entry_id)
GROUP BY 1, 2, 3, 4, 5
"""
_Part = tuple[date, UUID | None, str]  # (business_date, source_id, category)


class _Usage:
    """Each member-year's kept awards summed by (day, source, category): what `_USAGE` sums,
    for many member-years in one query, and moved as the run appends."""

    def __init__(self, rows: list[asyncpg.Record]) -> None:
        self.parts: dict[ledger.ChainKey, dict[_Part, Decimal]] = {}
        for r in rows:
            part = (r["business_date"], r["source_id"], r["category"])
            self.parts.setdefault((r["member_id"], r["year"]), {})[part] = r["points"]

    def of(self, req: AwardRequest, category: str) -> CapUsage:
        parts = self.parts.get((req.member_id, req.business_date.year), {})
        return CapUsage(
            sum((v for (d, _, _), v in parts.items() if d == req.business_date), ZERO),
            sum((v for (_, s, _), v in parts.items() if s == req.source_id), ZERO),
            sum((v for (_, _, c), v in parts.items() if c == category), ZERO),
        )

    def add(self, req: AwardRequest, category: str, amount: Decimal) -> None:
        parts = self.parts.setdefault((req.member_id, req.business_date.year), {})
        part = (req.business_date, req.source_id, category)
        parts[part] = parts.get(part, ZERO) + amount


async def award_many(
    conn: asyncpg.Connection, emit: EmitCaused, reqs: list[tuple[Envelope, AwardRequest]]
) -> list[asyncpg.Record]:
    """`award` for each (cause, request) in order, with one statement per table for the run:
    each chain head is locked once, entries appended in order, caps counted as they grow."""
    if not reqs:
        return []
    first_at: dict[int, datetime] = {}
    for _, req in reqs:
        first_at.setdefault(req.business_date.year, req.at)
    rule_sets = await rulebook.for_years(conn, first_at)
    keys = [(req.member_id, req.business_date.year) for _, req in reqs]
    appends = ledger.ChainAppends(await ledger.lock_chains(conn, keys))
    done = await ledger.awarded_causes(
        conn, [(r.cause_event_id, r.member_id, r.rule_code) for _, r in reqs]
    )
    ordered = sorted(set(keys))
    usage = _Usage(await conn.fetch(_USAGE_PARTS, [k[0] for k in ordered], [k[1] for k in ordered]))
    staged: list[tuple[Envelope, UUID]] = []
    capped_out = 0
    for cause, req in reqs:
        rule_set = rule_sets[req.business_date.year]
        rule = rule_set.rule(req.rule_code)
        if (req.cause_event_id, req.member_id, req.rule_code) in done:
            continue
        category = rule.category.value
        result = compute_award(rule_set, rule, req.hours, usage.of(req, category))
        if result.points <= 0:
            _nothing_left(req, result, log.debug)  # a line per event: the run's count below
            capped_out += 1
            continue
        staged.append((cause, appends.add(_new_entry(req, rule_set, rule, result))))
        done.add((req.cause_event_id, req.member_id, req.rule_code))
        usage.add(req, category, result.points)
    if capped_out:
        log.info("points.nothing_left_under_caps", awards=capped_out, of=len(reqs))
    rows = await appends.write(conn)
    for cause, entry_id in staged:
        await emit(awarded_event(rows[entry_id]), cause)
    return [rows[entry_id] for _, entry_id in staged]


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
