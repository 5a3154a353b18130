"""The rates of whistles (吹哨报到): response, completion and satisfaction, by district, street,
community and department, as of any date, with the drill-down one level below."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from cobuild_contracts.base import MAX_OFFSET, BusinessDate
from cobuild_kit.api import AUTHENTICATED, refusals
from cobuild_kit.clock import business_date
from cobuild_kit.service import ActorDep
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from cobuild_evaluation.http.models import Rate
from cobuild_evaluation.settings import RuntimeDep
from cobuild_evaluation.store.ledger import Page
from cobuild_evaluation.usecases import whistle_rates
from cobuild_evaluation.usecases.whistle_rates import RateScope

router = APIRouter(tags=["whistle rates"], responses=AUTHENTICATED)


class WhistleFigures(BaseModel):
    """A scope's whistles as of the end of a business date, and the rates they give."""

    raised: int = Field(description="whistles raised by the date (from raised_from)")
    response_due: int = Field(description="whose limit to respond had passed")
    responded_within_limit: int
    response_rate: Rate | None = Field(description="responded within the limit / response due")
    resolution_due: int = Field(description="whose limit to resolve had passed")
    resolved_within_limit: int = Field(
        description="resolved by the limit, and not reopened by the date"
    )
    completion_rate: Rate | None = Field(description="resolved within the limit / due")
    rated: int = Field(description="residents' ratings given by the date")
    satisfied: int
    satisfaction_rate: Rate | None = Field(description="satisfied / rated")


class WhistleRatesChild(BaseModel):
    id: UUID
    name: str | None = Field(description="the party's name; null for a whistle")
    figures: WhistleFigures


class WhistleRatesView(BaseModel):
    scope: RateScope
    id: UUID
    name: str | None
    as_of: date
    raised_from: date
    figures: WhistleFigures
    departments: list[WhistleRatesChild] = Field(
        description="the departments that held the scope's whistles as of the date"
    )
    child_scope: str = Field(description="street, community, or whistle")
    children: list[WhistleRatesChild]
    children_total: int
    children_next_offset: int | None


@router.get("/whistle-rates", responses=refusals(403, 404))
async def rates(
    actor: ActorDep,
    rt: RuntimeDep,
    scope: Annotated[RateScope, Query(description="district, street, community or department")],
    id: Annotated[UUID, Query(description="the party")],
    as_of: Annotated[
        BusinessDate | None, Query(description="business date; default today (Asia/Shanghai)")
    ] = None,
    raised_from: Annotated[
        BusinessDate | None,
        Query(description="count the whistles raised on or after this date (default: all)"),
    ] = None,
    children_limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    children_offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> WhistleRatesView:
    """吹哨报到's three rates as of the end of the business date `as_of`, over the whistles
    raised by then: **response rate** = responded within the limit ÷ those whose limit to
    respond had passed; **completion rate** = resolved within the limit (the last resolution
    reported by the date, not reopened by it) ÷ those whose limit to resolve had passed;
    **satisfaction rate** = residents' satisfied ratings ÷ ratings. Null for a zero
    denominator. A whistle counts for the community, street and district of its place, and
    for the department that held it as of the date (after its last hand-on).

    Drill-down: a district's streets, a street's communities, a community's or a department's
    whistles (ids only), and for a place, the departments that held its whistles. Read by
    the party's own admins and the street and district admins above it (a department by its
    unit admin and its district's), and operators; anything else is a 404."""
    day = as_of or business_date(rt.clock.now())
    start = raised_from or date(2000, 1, 1)
    page = Page(children_limit, children_offset)
    view = await whistle_rates.read(rt, actor, scope, id, day, start, page)
    return WhistleRatesView.model_validate(view)
