"""The supervisors' reads of the ledger: every overdue commitment in a scope as of a date,
and each unit's figures within it (a league table; with its agreements, the drill-down from
a community to its units). Read-only, over the ledger's own tables."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from cobuild_contracts.base import BusinessDate
from cobuild_kit.api import AUTHENTICATED, DEFAULT_PAGE, Limit, Offset, Page, page_of, refusals
from cobuild_kit.clock import business_date
from cobuild_kit.service import ActorDep
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from cobuild_evaluation.http.models import Fen, Figures
from cobuild_evaluation.settings import RuntimeDep
from cobuild_evaluation.usecases import supervision
from cobuild_evaluation.usecases.scopes import ScopeKind

router = APIRouter(tags=["ledger"], responses=AUTHENTICATED)

ScopeQuery = Annotated[ScopeKind, Query(description="district, street, community or unit")]
AsOf = Annotated[
    BusinessDate | None, Query(description="business date; default today (Asia/Shanghai)")
]


class OverdueCommitment(BaseModel):
    commitment_id: UUID
    agreement_id: UUID
    community_id: UUID
    community_name: str | None
    street_id: UUID | None
    street_name: str | None
    unit_id: UUID
    unit_name: str | None
    deadline: date
    days_late: int = Field(description="days from the deadline to the as-of date")
    committed_fen: Fen


class UnitAgreement(BaseModel):
    agreement_id: UUID
    figures: Figures


class UnitFigures(BaseModel):
    unit_id: UUID
    name: str | None
    agreements_count: int
    figures: Figures = Field(description="over the unit's agreements within the scope")
    agreements: list[UnitAgreement] | None = None


class UnitsView(BaseModel):
    scope: str
    id: UUID
    name: str | None
    as_of: date
    items: list[UnitFigures]


@router.get("/ledger/overdue", responses=refusals(404))
async def overdue(
    actor: ActorDep,
    rt: RuntimeDep,
    scope: ScopeQuery,
    id: UUID,
    as_of: AsOf = None,
    community_id: Annotated[UUID | None, Query(description="only this community's")] = None,
    unit_id: Annotated[UUID | None, Query(description="only this unit's")] = None,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[OverdueCommitment]:
    """Every commitment overdue as of the date within the scope (due, neither fulfilled nor
    cancelled by then), oldest deadline first, with its community, street and unit named.
    The whole list's count and committed fen equal GET /ledger's `overdue` and `overdue_fen`
    for the same scope and date. Who may read: as GET /ledger (404 outside the subtree)."""
    day = as_of or business_date(rt.clock.now())
    items, total = await supervision.overdue(
        rt,
        actor,
        scope,
        id,
        day,
        community=community_id,
        unit=unit_id,
        limit=limit,
        offset=offset,
    )
    return page_of(
        [OverdueCommitment.model_validate(i) for i in items],
        limit=limit,
        offset=offset,
        total=total,
    )


@router.get("/ledger/units", responses=refusals(404))
async def units(
    actor: ActorDep,
    rt: RuntimeDep,
    scope: ScopeQuery,
    id: UUID,
    as_of: AsOf = None,
    agreements: Annotated[
        bool, Query(description="also each unit's agreements with their figures")
    ] = False,
) -> UnitsView:
    """Each unit that signed within the scope, with its figures over those agreements only
    (they sum to the scope's figures in GET /ledger), by name. Who may read: as GET /ledger."""
    day = as_of or business_date(rt.clock.now())
    view = await supervision.units(rt, actor, scope, id, day, with_agreements=agreements)
    return UnitsView.model_validate(view)
