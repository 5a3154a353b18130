"""The ledger over HTTP: balances and history, totals, reversals, verification, rule sets."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any
from uuid import UUID

from cobuild_contracts import Role
from cobuild_kit.errors import Forbidden, NotFound
from cobuild_kit.parties import authorize
from cobuild_kit.service import ActorDep, RuntimeDep
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from cobuild_points import awards, ledger, rulebook
from cobuild_points.http.access import COMMUNITY, UNIT, View, member_view, plain
from cobuild_points.store import members

router = APIRouter(tags=["points"])
YearQ = Annotated[int, Query(ge=2000, le=2100)]
ADMINS = frozenset({Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.DISTRICT_ADMIN})


class ReversalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=500)]


@router.get("/members/{member_id}/points")
async def member_points(
    member_id: UUID, year: YearQ, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """Balance and history of a member-year (the unit admin gets the balance only)."""
    async with rt.pool.acquire() as conn:
        member = await members.get(conn, member_id)
        access = member_view(actor, member, "see this member's points")
        balance = await conn.fetchval(
            "SELECT balance FROM points_chain WHERE member_id = $1 AND year = $2", member_id, year
        )
        out: dict[str, Any] = {
            "member_id": member_id,
            "year": year,
            "balance": format(balance if balance is not None else 0, "f"),
        }
        if access is View.FULL:
            rows = await conn.fetch(
                "SELECT * FROM points_entry WHERE member_id = $1 AND year = $2 ORDER BY seq",
                member_id,
                year,
            )
            out["entries"] = [plain(r) for r in rows]
    return out


async def _totals(conn: Any, column: str, party_id: UUID, year: int) -> dict[str, Any]:
    # community_id / unit_id as recorded on each entry: the member's at the time of the award.
    rows = await conn.fetch(
        f"""SELECT member_id, sum(points) AS balance, count(*) AS entries FROM points_entry
            WHERE {column} = $1 AND year = $2 GROUP BY member_id ORDER BY member_id""",
        party_id,
        year,
    )
    total = sum((r["balance"] for r in rows), start=0)
    return {
        column: party_id,
        "year": year,
        "total": format(total, "f") if rows else "0.00",
        "members": [plain(r) for r in rows],
    }


@router.get("/communities/{community_id}/points")
async def community_totals(
    community_id: UUID, year: YearQ, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        await authorize(
            conn,
            actor,
            community_id,
            roles=COMMUNITY,
            supervisors_may=True,
            action="see this community's points",
        )
        return await _totals(conn, "community_id", community_id, year)


@router.get("/units/{unit_id}/points")
async def unit_totals(
    unit_id: UUID, year: YearQ, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """Totals per member id: what a unit admin may see of its members."""
    async with rt.pool.acquire() as conn:
        await authorize(
            conn, actor, unit_id, roles=UNIT, supervisors_may=True, action="see this unit's points"
        )
        return await _totals(conn, "unit_id", unit_id, year)


@router.post("/points/entries/{entry_id}/reversal", status_code=201)
async def reverse(
    entry_id: UUID, body: ReversalIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """A correction: a reversing entry, by the admin of the community the entry counts for."""
    async with rt.unit_of_work() as uow:
        entry = await uow.conn.fetchrow(
            "SELECT community_id FROM points_entry WHERE entry_id = $1", entry_id
        )
        if entry is None:
            raise NotFound(f"points entry {entry_id} not found")
        await authorize(
            uow.conn,
            actor,
            entry["community_id"],
            roles=COMMUNITY,
            action="reverse points of this community",
        )
        row = await awards.reverse(
            uow.conn, uow.emit, entry_id, reason=body.reason, at=rt.clock.now()
        )
    return plain(row)


@router.get("/points/verify")
async def verify(year: YearQ, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """Walks every member-year hash chain; `first_bad` names the first entry that fails."""
    if actor.role not in ADMINS:
        raise Forbidden(f"role {actor.role.value} may not verify the ledger")
    async with rt.pool.acquire() as conn:
        report = await ledger.verify(conn, year)
    return report.as_dict()


@router.get("/points/rules")
async def rules(year: YearQ, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """The rule set a year uses (frozen once the year's first entry was made)."""
    async with rt.pool.acquire() as conn:
        try:
            rule_set = await rulebook.for_year(conn, year)
        except LookupError:
            raise NotFound(f"no point rule set covers {year}") from None
        fixed = await conn.fetchval("SELECT fixed_at FROM rule_set_year WHERE year = $1", year)
    data = plain(asdict(rule_set))
    data["rules"] = {code: plain(asdict(r)) for code, r in rule_set.rules.items()}
    data["caps"] = {
        "per_day": format(rule_set.caps.per_day, "f"),
        "per_activity": format(rule_set.caps.per_activity, "f"),
        "per_category_year": {
            k.value: format(v, "f") for k, v in rule_set.caps.per_category_year.items()
        },
    }
    return {"year": year, "frozen": fixed is not None, "fixed_at": fixed, **data}
