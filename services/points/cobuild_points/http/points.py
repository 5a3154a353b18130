"""The ledger over HTTP: balances and history, totals, reversals, verification, rule sets."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from cobuild_kit.service import ActorDep, RuntimeDep
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from cobuild_points.http.views import plain
from cobuild_points.usecases import points

router = APIRouter(tags=["points"])
YearQ = Annotated[int, Query(ge=2000, le=2100)]


class ReversalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=500)]


@router.get("/members/{member_id}/points")
async def member_points(
    member_id: UUID, year: YearQ, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """Balance and history of a member-year (the unit admin gets the balance only)."""
    found = await points.of_member(rt, actor, member_id, year)
    out: dict[str, Any] = {
        "member_id": member_id,
        "year": year,
        "balance": format(found.balance if found.balance is not None else 0, "f"),
    }
    if found.entries is not None:
        out["entries"] = [plain(r) for r in found.entries]
    return out


def _totals(column: str, party_id: UUID, year: int, rows: list[asyncpg.Record]) -> dict[str, Any]:
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
    rows = await points.of_community(rt, actor, community_id, year)
    return _totals("community_id", community_id, year, rows)


@router.get("/units/{unit_id}/points")
async def unit_totals(
    unit_id: UUID, year: YearQ, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """Totals per member id: what a unit admin may see of its members."""
    rows = await points.of_unit(rt, actor, unit_id, year)
    return _totals("unit_id", unit_id, year, rows)


@router.post("/points/entries/{entry_id}/reversal", status_code=201)
async def reverse(
    entry_id: UUID, body: ReversalIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """A correction: a reversing entry, by the admin of the community the entry counts for."""
    return plain(await points.reverse(rt, actor, entry_id, body.reason))


@router.get("/points/verify")
async def verify(year: YearQ, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """Walks every member-year hash chain; `first_bad` names the first entry that fails."""
    return (await points.verify(rt, actor, year)).as_dict()


@router.get("/points/rules")
async def rules(year: YearQ, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """The rule set a year uses (frozen once the year's first entry was made)."""
    found = await points.rules(rt, year)
    rule_set = found.rule_set
    data = plain(asdict(rule_set))
    data["rules"] = {code: plain(asdict(r)) for code, r in rule_set.rules.items()}
    data["caps"] = {
        "per_day": format(rule_set.caps.per_day, "f"),
        "per_activity": format(rule_set.caps.per_activity, "f"),
        "per_category_year": {
            k.value: format(v, "f") for k, v in rule_set.caps.per_category_year.items()
        },
    }
    return {"year": year, "frozen": found.fixed_at is not None, "fixed_at": found.fixed_at, **data}
