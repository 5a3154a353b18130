"""Routing tables: each district's, by version. A change applies to new matters only."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from cobuild_contracts.events.escalations import Urgency
from cobuild_kit.api import AUTHENTICATED, DEFAULT_PAGE, Limit, Offset, Page, page_of, refusals
from cobuild_kit.service import ActorDep
from fastapi import APIRouter, Path

from cobuild_escalations.domain.routing import (
    DEFAULT_LIMITS,
    LimitRule,
    Limits,
    RoutingRule,
    RoutingTable,
    Span,
)
from cobuild_escalations.http.models import LimitIO, RoutingIn, RoutingOut, RoutingVersion, RuleIO
from cobuild_escalations.settings import RuntimeDep
from cobuild_escalations.usecases import routing
from cobuild_escalations.usecases.access import domain_rules

router = APIRouter(prefix="/districts", tags=["routing"], responses=AUTHENTICATED)


def _limit_io(x: LimitRule) -> LimitIO:
    return LimitIO(
        category=x.category,
        urgency=x.urgency,
        respond=str(x.limits.respond),
        resolve=str(x.limits.resolve),
    )


def _out(t: RoutingTable) -> RoutingOut:
    defaults = [LimitRule(u, lim) for u, lim in DEFAULT_LIMITS.items()]
    return RoutingOut(
        district_id=t.district_id,
        version=t.version,
        rules=[
            RuleIO(
                department_id=r.department_id,
                category=r.category,
                raiser_level=r.raiser_level,
                street_id=r.street_id,
            )
            for r in t.rules
        ],
        limits=[_limit_io(x) for x in t.limits],
        default_limits=[_limit_io(x) for x in defaults],
        note=t.note,
    )


def _table(district_id: UUID, body: RoutingIn) -> RoutingTable:
    with domain_rules():
        limits = tuple(
            LimitRule(
                Urgency(x.urgency),
                Limits(
                    Span.parse(x.respond, f"body.limits.{i}.respond"),
                    Span.parse(x.resolve, f"body.limits.{i}.resolve"),
                ),
                x.category,
            )
            for i, x in enumerate(body.limits)
        )
    rules = tuple(
        RoutingRule(r.department_id, r.category, r.raiser_level, r.street_id) for r in body.rules
    )
    return RoutingTable(district_id, 0, rules, limits, body.note)


@router.get("/{district_id}/routing", responses=refusals(403, 404))
async def current(district_id: UUID, actor: ActorDep, rt: RuntimeDep) -> RoutingOut:
    """The table new whistles of the district are routed by (version 0 until its admins
    publish one: every whistle to the level above, with the default limits). For the
    district's admins, its streets' admins and operators."""
    return _out(await routing.current(rt, actor, district_id))


@router.get("/{district_id}/routing/versions", responses=refusals(403, 404))
async def versions(
    district_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[RoutingVersion]:
    """Every version published: who, when and why, oldest first."""
    rows = await routing.history(rt, actor, district_id)
    every = [RoutingVersion.model_validate(dict(r)) for r in rows]
    return page_of(every[offset : offset + limit], limit=limit, offset=offset, total=len(every))


@router.get("/{district_id}/routing/versions/{version}", responses=refusals(403, 404))
async def version(
    district_id: UUID,
    version: Annotated[int, Path(ge=0, le=10**6)],
    actor: ActorDep,
    rt: RuntimeDep,
) -> RoutingOut:
    """One version as it was: the one a whistle names in `routing_version` routed it."""
    return _out(await routing.version(rt, actor, district_id, version))


@router.put("/{district_id}/routing", status_code=201, responses=refusals(403, 404, 409))
async def publish(
    district_id: UUID, body: RoutingIn, actor: ActorDep, rt: RuntimeDep
) -> RoutingOut:
    """The district admin (or an operator) publishes a new version of the whole table. A rule
    sends whistles of a category, raised at a level (community or street), in a street (each
    optional) to a department (a government office unit; 422 naming the rule otherwise); the
    most specific matching rule wins, and no match goes to the level above. Limits are per
    category (or any) and urgency, in working hours ('4h') or days ('3d'). Whistles already
    raised keep the version they were routed by."""
    table, _ = await routing.publish(rt, actor, _table(district_id, body))
    return _out(table)
