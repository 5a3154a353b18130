"""The ledger's queries and corrections: a member-year's balance and history, totals by
community or unit, reversals, verification of the hash chains, the rule set of a year."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

import asyncpg
from cobuild_contracts import Role
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Forbidden, NotFound
from cobuild_kit.parties import authorize

from cobuild_points.domain.chain import VerifyReport, YearAudit
from cobuild_points.domain.rules import RuleSet
from cobuild_points.settings import PointsRuntime
from cobuild_points.store import ledger, rulebook
from cobuild_points.store.paging import Slice
from cobuild_points.usecases import awards
from cobuild_points.usecases.access import COMMUNITY, UNIT, View, authorize_read, visible_member

ADMINS = frozenset({Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.DISTRICT_ADMIN})


@dataclass(frozen=True)
class MemberPoints:
    balance: Decimal | None  # None before the member-year's first entry
    entries: Slice | None  # a page of the history; None for the unit admin: the balance only


async def of_member(
    rt: PointsRuntime, actor: Actor, member_id: UUID, year: int, *, limit: int, offset: int
) -> MemberPoints:
    """Balance and history of a member-year (the unit admin gets the balance only)."""
    async with rt.pool.acquire() as conn:
        _, access = await visible_member(conn, actor, member_id)
        balance = await ledger.balance(conn, member_id, year)
        entries = None
        if access is View.FULL:
            entries = await ledger.of_member_year(conn, member_id, year, limit=limit, offset=offset)
    return MemberPoints(balance, entries)


@dataclass(frozen=True)
class PartyTotals:
    members: Slice  # each member's balance and count of entries
    points_total: Decimal  # over all the party's members, not only this page's


async def _totals(
    conn: asyncpg.Connection, column: str, party_id: UUID, year: int, limit: int, offset: int
) -> PartyTotals:
    found = await ledger.totals(conn, column, party_id, year, limit=limit, offset=offset)
    if found.rows:
        return PartyTotals(found, Decimal(found.rows[0]["points_total"]))
    return PartyTotals(found, await ledger.points_total(conn, column, party_id, year))


async def of_community(
    rt: PointsRuntime, actor: Actor, community_id: UUID, year: int, *, limit: int, offset: int
) -> PartyTotals:
    """Each member's total recorded for the community (the member's at the time of the award)."""
    async with rt.pool.acquire() as conn:
        await authorize_read(
            conn,
            actor,
            community_id,
            roles=COMMUNITY,
            supervisors_may=True,
            what=f"community {community_id}",
            field="path.community_id",
        )
        return await _totals(conn, "community_id", community_id, year, limit, offset)


async def of_unit(
    rt: PointsRuntime, actor: Actor, unit_id: UUID, year: int, *, limit: int, offset: int
) -> PartyTotals:
    """Totals per member id: what a unit admin may see of its members."""
    async with rt.pool.acquire() as conn:
        await authorize_read(
            conn,
            actor,
            unit_id,
            roles=UNIT,
            supervisors_may=True,
            what=f"unit {unit_id}",
            field="path.unit_id",
        )
        return await _totals(conn, "unit_id", unit_id, year, limit, offset)


async def reverse(rt: PointsRuntime, actor: Actor, entry_id: UUID, reason: str) -> asyncpg.Record:
    """A correction: a reversing entry, by the admin of the community the entry counts for."""
    async with rt.unit_of_work() as uow:
        community_id = await ledger.community_of_entry(uow.conn, entry_id)
        if community_id is None:
            raise NotFound(f"points entry {entry_id} not found")
        await authorize(
            uow.conn,
            actor,
            community_id,
            roles=COMMUNITY,
            action="reverse points of this community",
        )
        return await awards.reverse(uow.conn, uow.emit, entry_id, reason=reason, at=rt.clock.now())


async def verify(rt: PointsRuntime, actor: Actor, year: int) -> VerifyReport:
    """An administrator's check of every member-year hash chain of `year`."""
    if actor.role not in ADMINS:
        raise Forbidden(f"role {actor.role.value} may not verify the ledger")
    async with rt.pool.acquire() as conn:
        return await verify_year(conn, year)


async def verify_member(
    rt: PointsRuntime, actor: Actor, member_id: UUID, year: int
) -> VerifyReport:
    """One member-year's chain, for the member themself (a tick on their points page) and
    the community they serve; to anyone else the member is not found."""
    async with rt.pool.acquire() as conn:
        await visible_member(conn, actor, member_id, needs=View.FULL)
        heads, entries = await ledger.chain_of_member_year(conn, member_id, year)
    audit = YearAudit(year, heads)
    for entry in entries:
        if not audit.feed(entry):
            break
    return audit.report()


async def verify_year(conn: asyncpg.Connection, year: int) -> VerifyReport:
    """Walk every member chain of `year`; the report names the first bad entry, if any."""
    audit = YearAudit(year, await ledger.heads_of_year(conn, year))
    async with ledger.entries_of_year(conn, year) as entries:
        async for entry in entries:
            if not audit.feed(entry):
                break
    return audit.report()


@dataclass(frozen=True)
class YearRules:
    rule_set: RuleSet
    fixed_at: datetime | None  # when the year's first entry froze it; None while it is not


async def rules(rt: PointsRuntime, year: int) -> YearRules:
    """The rule set a year uses (frozen once the year's first entry was made)."""
    async with rt.pool.acquire() as conn:
        try:
            rule_set = await rulebook.for_year(conn, year)
        except LookupError:
            raise NotFound(f"no point rule set covers {year}") from None
        return YearRules(rule_set, await rulebook.fixed_at(conn, year))
