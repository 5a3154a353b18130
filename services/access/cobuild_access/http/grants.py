"""Grants: delegated granting and revoking, the operator's bootstrap, and the lists."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from cobuild_contracts import Role
from cobuild_kit.api import AUTHENTICATED, Limit, Offset, Page, page_of, refusals
from cobuild_kit.service import ActorDep
from fastapi import APIRouter, Query

from cobuild_access.http.views import Body, GrantOut, Reason, Subject, grant_out
from cobuild_access.settings import RuntimeDep
from cobuild_access.usecases import grants

router = APIRouter(tags=["grants"], responses=AUTHENTICATED)


class GrantIn(Body):
    subject: Subject
    role: Role
    party_id: UUID


@router.post("/grants", status_code=201, responses=refusals(409))
async def grant(body: GrantIn, actor: ActorDep, rt: RuntimeDep) -> GrantOut:
    """Grant a role for a party by the delegation rules: a district admin grants street and
    unit admins (and integrations) of its district, a street admin community admins of its
    street, a community admin community admins of its own community. Anything else is a 403
    naming the rule; a grant already held is a 409. Publishes `grant.added`."""
    row = await grants.grant(
        rt, actor, subject=body.subject, role=body.role, party_id=body.party_id
    )
    return grant_out(row)


@router.post("/bootstrap/grants", status_code=201, responses=refusals(409))
async def bootstrap(body: GrantIn, actor: ActorDep, rt: RuntimeDep) -> GrantOut:
    """The first district admin, and operators: outside the delegation rules, by an
    operator only (`cobuild access grant`), audited as a bootstrap."""
    row = await grants.bootstrap(
        rt, actor, subject=body.subject, role=body.role, party_id=body.party_id
    )
    return grant_out(row)


@router.delete("/grants/{grant_id}", responses=refusals(404, 409))
async def revoke(
    grant_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    reason: Annotated[Reason, Query(description="why: kept in the grant and the audit")],
) -> GrantOut:
    """Revoke a grant (who could grant it may revoke it; anyone their own; the operator
    any). Publishes `grant.revoked`: every service refuses the grant's tokens within seconds."""
    return grant_out(await grants.revoke(rt, actor, grant_id, reason))


@router.get("/grants")
async def listed(
    actor: ActorDep,
    rt: RuntimeDep,
    limit: Limit = 100,
    offset: Offset = 0,
    party_id: Annotated[UUID | None, Query(description="one party of your scope")] = None,
    role: Role | None = None,
    include_revoked: bool = False,
) -> Page[GrantOut]:
    """Who holds which role in your scope (a supervisor: its subtree; a community or unit
    admin: its own party; the operator: all), newest first. A party outside it answers 404."""
    rows, total = await grants.listed(
        rt,
        actor,
        party_id=party_id,
        role=role,
        include_revoked=include_revoked,
        limit=limit,
        offset=offset,
    )
    return page_of([grant_out(r) for r in rows], limit=limit, offset=offset, total=total)


me = APIRouter(tags=["me"], responses=AUTHENTICATED)


@me.get("/me/grants")
async def my_grants(actor: ActorDep, rt: RuntimeDep) -> Page[GrantOut]:
    """The signed-in subject's live grants with their parties' names, to choose one for the
    exchange (a role switch). Any Cobuild token of the subject, a `person` token too."""
    rows = await grants.mine(rt, actor)
    return page_of([grant_out(r) for r in rows], limit=max(len(rows), 1), offset=0, total=len(rows))
