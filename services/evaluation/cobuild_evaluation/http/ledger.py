"""Ledger queries (any scope, any as-of date) and the rebuild operation."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from cobuild_contracts import AgreementOrigin, Role
from cobuild_contracts.base import MAX_OFFSET, BusinessDate
from cobuild_kit.api import AUTHENTICATED, refusals
from cobuild_kit.clock import business_date
from cobuild_kit.errors import Forbidden
from cobuild_kit.service import ActorDep
from fastapi import APIRouter, Query

from cobuild_evaluation.http.models import LedgerView, Rebuilt
from cobuild_evaluation.settings import RuntimeDep
from cobuild_evaluation.usecases import ledger_rebuild, ledger_view
from cobuild_evaluation.usecases.ledger_view import Page
from cobuild_evaluation.usecases.scopes import ScopeKind, scope_id

router = APIRouter(tags=["ledger"], responses=AUTHENTICATED)


@router.get("/ledger", responses=refusals(404))
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
    origin: Annotated[
        AgreementOrigin | None,
        Query(
            description="count only the commitments of agreements of this origin: 'meeting' "
            "for joint meetings' decisions, 'claim' for direct claims, 'negotiated'"
        ),
    ] = None,
) -> LedgerView:
    """Signed, fulfilled, overdue and cancelled counts and rates, by count and by value
    (fen), as of the end of the business date, with the drill-down one level below: a page
    of children, `children_total` in all, the next page at `children_next_offset`.

    Who reads what: a party's own admins and the street and district admins above it read
    its scopes; a scope outside the actor's subtree is 404, like one that does not exist.
    `scope=all` (the whole system, every district) is for operators only (role `operator`);
    a district admin reads its own district with `scope=district`.

    With `origin`, the figures and the drill-down count only the commitments of agreements
    of that origin (a street's joint-meeting decisions: `scope=street&origin=meeting`); a
    commitment whose agreement.signed the ledger has not seen yet is left out until it has.

    A commitment counts on the business date of each fact: one confirmed after its year's
    assessment was published is booked on its confirmation date, so it shows in every view
    as of that date or later, and never in the views as of earlier dates."""
    sid = scope_id(scope, id)
    day = as_of or business_date(rt.clock.now())
    page = Page(children_limit, children_offset)
    return LedgerView.model_validate(
        await ledger_view.read(rt, actor, scope, sid, day, page, origin)
    )


@router.post("/ops/ledger/rebuild")
async def rebuild(actor: ActorDep, rt: RuntimeDep) -> Rebuilt:
    """Operators only (role `operator`): recompute the ledger's aggregates from its journal
    (answers stay identical). It rewrites every district's aggregates, so no district admin
    may start it."""
    if actor.role != Role.OPERATOR:
        raise Forbidden(f"role {actor.role.value} may not rebuild the ledger (operators only)")
    return Rebuilt.model_validate(await ledger_rebuild.rebuild_and_tidy(rt.pool))
