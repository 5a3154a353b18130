"""The ledger over HTTP: balances and history, totals, reversals, verification, rule sets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from cobuild_kit.api import AUTHENTICATED, Limit, Offset, Page, page_of, refusals
from cobuild_kit.service import ActorDep
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from cobuild_points.domain.chain import VerifyReport
from cobuild_points.domain.rules import RuleCategory
from cobuild_points.http.views import EntryOut, PointsText
from cobuild_points.settings import RuntimeDep
from cobuild_points.usecases import points

router = APIRouter(tags=["points"], responses=AUTHENTICATED)
BY_ID = refusals(404)
YearQ = Annotated[int, Query(ge=2000, le=2100)]


class ReversalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class MemberPoints(BaseModel):
    """A member-year: its balance, and a page of its entries (by `seq`)."""

    member_id: UUID
    year: int
    balance: PointsText
    entries: Page[EntryOut] | None = Field(
        description="the history, one page (`limit`/`offset`); null for the member's unit "
        "admin, who sees the balance only"
    )


class MemberTotal(BaseModel):
    member_id: UUID
    balance: PointsText
    entries: int


class CommunityTotals(Page[MemberTotal]):
    community_id: UUID
    year: int
    points_total: PointsText = Field(description="over all the community's members")


class UnitTotals(Page[MemberTotal]):
    unit_id: UUID
    year: int
    points_total: PointsText = Field(description="over all the unit's members")


class BadEntryOut(BaseModel):
    member_id: UUID
    entry_id: UUID | None
    seq: int | None
    problem: str


class VerifyOut(BaseModel):
    year: int
    ok: bool
    chains_checked: int
    entries_checked: int
    first_bad: BadEntryOut | None


class RuleOut(BaseModel):
    code: str
    category: RuleCategory
    label: str
    per_hour: PointsText | None
    flat: PointsText | None


class CategoryCap(BaseModel):
    category: RuleCategory
    points: PointsText


class CapsOut(BaseModel):
    per_day: PointsText
    per_activity: PointsText
    per_category_year: list[CategoryCap]


class RulesOut(BaseModel):
    year: int
    frozen: bool = Field(description="the year's first entry fixed the rule set")
    fixed_at: datetime | None
    version: str
    applies_from_year: int
    rules: list[RuleOut]
    caps: CapsOut


@router.get("/members/{member_id}/points", responses=BY_ID)
async def member_points(
    member_id: UUID,
    year: YearQ,
    actor: ActorDep,
    rt: RuntimeDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> MemberPoints:
    """Balance and history of a member-year (the unit admin gets the balance only). An entry
    belongs to the year of its business date (see the API description, "Rules")."""
    found = await points.of_member(rt, actor, member_id, year, limit=limit, offset=offset)
    entries = None
    if found.entries is not None:
        items = [EntryOut.of(r) for r in found.entries.rows]
        entries = page_of(items, limit=limit, offset=offset, total=found.entries.total)
    return MemberPoints(
        member_id=member_id,
        year=year,
        balance=found.balance if found.balance is not None else 0,
        entries=entries,
    )


def _members(found: points.PartyTotals, limit: int, offset: int) -> Page[MemberTotal]:
    items = [MemberTotal.model_validate(dict(r)) for r in found.members.rows]
    return page_of(items, limit=limit, offset=offset, total=found.members.total)


@router.get("/communities/{community_id}/points", responses=BY_ID)
async def community_totals(
    community_id: UUID,
    year: YearQ,
    actor: ActorDep,
    rt: RuntimeDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> CommunityTotals:
    """Each member's total recorded for the community, by member id."""
    found = await points.of_community(rt, actor, community_id, year, limit=limit, offset=offset)
    return CommunityTotals(
        community_id=community_id,
        year=year,
        points_total=found.points_total,
        **dict(_members(found, limit, offset)),
    )


@router.get("/units/{unit_id}/points", responses=BY_ID)
async def unit_totals(
    unit_id: UUID,
    year: YearQ,
    actor: ActorDep,
    rt: RuntimeDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> UnitTotals:
    """Totals per member id: what a unit admin may see of its members."""
    found = await points.of_unit(rt, actor, unit_id, year, limit=limit, offset=offset)
    return UnitTotals(
        unit_id=unit_id,
        year=year,
        points_total=found.points_total,
        **dict(_members(found, limit, offset)),
    )


@router.post("/points/entries/{entry_id}/reversal", status_code=201, responses=refusals(404, 409))
async def reverse(entry_id: UUID, body: ReversalIn, actor: ActorDep, rt: RuntimeDep) -> EntryOut:
    """A correction: a reversing entry, by the admin of the community the entry counts for.
    It is booked in the reversed entry's member-year, dated the day of the reversal."""
    return EntryOut.of(await points.reverse(rt, actor, entry_id, body.reason))


@router.get("/points/verify")
async def verify(year: YearQ, actor: ActorDep, rt: RuntimeDep) -> VerifyOut:
    """Walks every member-year hash chain; `first_bad` names the first entry that fails."""
    return _verified(await points.verify(rt, actor, year))


def _verified(report: VerifyReport) -> VerifyOut:
    bad = report.first_bad
    return VerifyOut(
        year=report.year,
        ok=report.ok,
        chains_checked=report.chains_checked,
        entries_checked=report.entries_checked,
        first_bad=None
        if bad is None
        else BadEntryOut(
            member_id=bad.member_id, entry_id=bad.entry_id, seq=bad.seq, problem=bad.problem
        ),
    )


@router.get("/members/{member_id}/points/verify", responses=BY_ID)
async def verify_member(member_id: UUID, year: YearQ, actor: ActorDep, rt: RuntimeDep) -> VerifyOut:
    """Walks one member-year's hash chain, for the member (and the community they serve):
    the member's own check that nobody altered or removed an entry of theirs."""
    return _verified(await points.verify_member(rt, actor, member_id, year))


@router.get("/points/rules", responses=BY_ID)
async def rules(year: YearQ, actor: ActorDep, rt: RuntimeDep) -> RulesOut:
    """The rule set a year uses (frozen once the year's first entry was made)."""
    found = await points.rules(rt, year)
    rule_set = found.rule_set
    caps = rule_set.caps
    return RulesOut(
        year=year,
        frozen=found.fixed_at is not None,
        fixed_at=found.fixed_at,
        version=rule_set.version,
        applies_from_year=rule_set.applies_from_year,
        rules=[
            RuleOut(
                code=r.code, category=r.category, label=r.label, per_hour=r.per_hour, flat=r.flat
            )
            for r in rule_set.rules.values()
        ],
        caps=CapsOut(
            per_day=caps.per_day,
            per_activity=caps.per_activity,
            per_category_year=[
                CategoryCap(category=k, points=v) for k, v in caps.per_category_year.items()
            ],
        ),
    )
