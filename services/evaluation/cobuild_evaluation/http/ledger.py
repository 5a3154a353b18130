"""Ledger queries (any scope, any as-of date) and the rebuild operation."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from cobuild_contracts import Role
from cobuild_contracts.base import MAX_OFFSET, BusinessDate
from cobuild_kit.clock import business_date
from cobuild_kit.errors import Forbidden
from cobuild_kit.service import ActorDep, RuntimeDep
from fastapi import APIRouter, Query

from cobuild_evaluation.usecases import ledger_rebuild, ledger_view
from cobuild_evaluation.usecases.ledger_view import Page
from cobuild_evaluation.usecases.scopes import ScopeKind, scope_id

router = APIRouter(tags=["ledger"])


@router.get("/ledger")
async def ledger(
    actor: ActorDep,
    rt: RuntimeDep,
    scope: Annotated[
        ScopeKind,
        Query(description="all, district, street, community, unit, agreement or commitment"),
    ],
    id: Annotated[UUID | None, Query(description="the scope's id (not for 'all')")] = None,
    as_of: Annotated[
        BusinessDate | None, Query(description="business date; default today (Asia/Shanghai)")
    ] = None,
    children_limit: Annotated[
        int, Query(ge=1, le=1000, description="children (drill-down rows) per page")
    ] = 100,
    children_offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description="children to skip (see children_next_offset)")
    ] = 0,
) -> dict[str, Any]:
    """Signed, fulfilled, overdue and cancelled counts and rates, by count and by value
    (fen), as of the end of the business date, with the drill-down one level below: a page
    of children, `children_total` in all, the next page at `children_next_offset`."""
    sid = scope_id(scope, id)
    day = as_of or business_date(rt.clock.now())
    page = Page(children_limit, children_offset)
    return await ledger_view.read(rt, actor, scope, sid, day, page)


@router.post("/ops/ledger/rebuild")
async def rebuild(actor: ActorDep, rt: RuntimeDep) -> dict[str, int]:
    """Recompute the ledger's aggregates from its journal (answers stay identical)."""
    if actor.role != Role.DISTRICT_ADMIN:
        raise Forbidden(f"role {actor.role.value} may not rebuild the ledger")
    return await ledger_rebuild.rebuild_and_tidy(rt.pool)
