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


_PartKey = tuple[UUID, int, str, str]  # (member, year, part, key), a row of points_usage
_PartKeys = tuple[_PartKey, _PartKey, _PartKey]  # an award's day, source and category
# Sent as one row per award and spread to its three parts here: asyncpg checks the type of
# every array element in Python, so five elements an award cost less than twelve.
_USAGE = """
SELECT u.member_id, u.year, u.part, u.key, u.points
FROM unnest($1::uuid[], $2::int[], $3::date[], $4::uuid[], $5::text[]) AS k(m, y, d, s, c)
CROSS JOIN LATERAL (VALUES
    ('day', to_char(k.d, 'YYYY-MM-DD')), ('source', k.s::text), ('category', k.c)
) p(part, key)
JOIN points_usage u ON u.member_id = k.m AND u.year = k.y AND u.part = p.part AND u.key = p.key
"""


def _part_keys(req: AwardRequest, category: str) -> _PartKeys:
    """The three points_usage rows an award counts against (migration 0003 writes them)."""
    m, y = req.member_id, req.business_date.year
    return (
        (m, y, "day", req.business_date.isoformat()),
        (m, y, "source", str(req.source_id)),
        (m, y, "category", category),
    )


class CapParts:
    """The kept awards' points by the parts the caps count, for the awards at hand: three
    rows each, read in one statement, and moved as a run appends."""

    def __init__(self, rows: list[asyncpg.Record]) -> None:
        self.points: dict[_PartKey, Decimal] = {
            (r["member_id"], r["year"], r["part"], r["key"]): r["points"] for r in rows
        }

    @classmethod
    async def load(
        cls, conn: asyncpg.Connection, wanted: list[tuple[AwardRequest, str]]
    ) -> CapParts:
        """The parts of each (request, category), as `_part_keys` names them."""
        awards = list({(r.member_id, r.business_date, r.source_id, c) for r, c in wanted})
        return cls(
            await conn.fetch(
                _USAGE,
                [a[0] for a in awards],
                [a[1].year for a in awards],
                [a[1] for a in awards],
                [a[2] for a in awards],
                [a[3] for a in awards],
            )
        )

    def of(self, keys: _PartKeys) -> CapUsage:
        day, source, category_year = (self.points.get(k, ZERO) for k in keys)
        return CapUsage(day, source, category_year)

    def add(self, keys: _PartKeys, amount: Decimal) -> None:
        for k in keys:
            self.points[k] = self.points.get(k, ZERO) + amount


async def award(conn: asyncpg.Connection, emit: Emit, req: AwardRequest) -> asyncpg.Record | None:
    """The new entry; None when this cause was already awarded or the caps leave nothing."""
    year = req.business_date.year
    rule_set = await rulebook.for_year(conn, year, fix_at=req.at)
    rule = rule_set.rule(req.rule_code)
    head = await ledger.lock_chain(conn, req.member_id, year)
    if await ledger.already_awarded(conn, req.cause_event_id, req.member_id, req.rule_code):
        return None
    category = rule.category.value
    usage = await CapParts.load(conn, [(req, category)])
    result = compute_award(rule_set, rule, req.hours, usage.of(_part_keys(req, category)))
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
    chains = [(req.member_id, req.business_date.year) for _, req in reqs]
    appends = ledger.ChainAppends(await ledger.lock_chains(conn, chains))
    done = await ledger.awarded_causes(
        conn, [(r.cause_event_id, r.member_id, r.rule_code) for _, r in reqs]
    )
    rules = [rule_sets[r.business_date.year].rule(r.rule_code) for _, r in reqs]
    wanted = [(r, rule.category.value) for (_, r), rule in zip(reqs, rules, strict=True)]
    parts = [_part_keys(r, category) for r, category in wanted]
    usage = await CapParts.load(conn, wanted)
    staged: list[tuple[Envelope, UUID]] = []
    capped_out = 0
    for (cause, req), rule, keys in zip(reqs, rules, parts, strict=True):
        rule_set = rule_sets[req.business_date.year]
        if (req.cause_event_id, req.member_id, req.rule_code) in done:
            continue
        result = compute_award(rule_set, rule, req.hours, usage.of(keys))
        if result.points <= 0:
            _nothing_left(req, result, log.debug)  # a line per event: the run's count below
            capped_out += 1
            continue
        staged.append((cause, appends.add(_new_entry(req, rule_set, rule, result))))
        done.add((req.cause_event_id, req.member_id, req.rule_code))
        usage.add(keys, result.points)
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
