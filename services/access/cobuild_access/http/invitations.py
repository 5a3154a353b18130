"""Invitations: made by an admin (only what they could grant), shown as a link and a QR code,
mailed where an address is given, accepted once by the signed-in invitee."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import asyncpg
from cobuild_contracts import Role
from cobuild_kit.api import AUTHENTICATED, Limit, Offset, Page, page_of, refusals
from cobuild_kit.rate_limits import rate_limit
from cobuild_kit.service import ActorDep
from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from cobuild_access.adapters import qr
from cobuild_access.domain.invitations import InvitationState
from cobuild_access.http.views import Body, GrantOut, grant_out
from cobuild_access.settings import RuntimeDep
from cobuild_access.usecases import invitations
from cobuild_access.usecases.invitations import Issued, link_of

router = APIRouter(tags=["invitations"], responses=AUTHENTICATED)
links = APIRouter(tags=["invitation_links"])

Email = Annotated[
    str, Field(max_length=254, pattern=r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$")
]
# The link's token: what secrets.token_urlsafe(32) makes (43 characters), with some room.
LinkToken = Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
LinkLookups = rate_limit(
    "invitation-links", lambda s: getattr(s, "invitation_lookups_per_minute", 30)
)
SVG = "image/svg+xml"
PNG = "image/png"


class InvitationIn(Body):
    role: Role
    party_id: UUID = Field(description="the party of the role (a member's: their member id)")
    email: Email | None = Field(
        default=None,
        description="the invitee's address: the link is mailed to it; kept only while the "
        "invitation is open",
    )


class InvitationOut(BaseModel):
    invitation_id: UUID
    role: Role
    party_id: UUID
    party_name: str | None
    invited_by: str
    created_at: datetime
    expires_at: datetime
    state: InvitationState
    mailed: str = Field(description="none (no address) | sent | failed")
    accepted_at: datetime | None
    accepted_by: str | None
    grant_id: UUID | None


class InvitationIssued(InvitationOut):
    link: str = Field(description="the single-use link: shown once, the token is not kept")
    qr_svg: str = Field(description="where its QR code is (SVG)")
    qr_png: str = Field(description="where its QR code is (PNG)")


class InvitationPreview(BaseModel):
    """What the invitee sees before signing in."""

    role: Role
    party_name: str | None
    expires_at: datetime
    state: InvitationState


def _out(rt: RuntimeDep, row: asyncpg.Record) -> InvitationOut:
    return InvitationOut(
        invitation_id=row["invitation_id"],
        role=Role(row["role"]),
        party_id=row["party_id"],
        party_name=row["party_name"],
        invited_by=row["invited_by"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        state=invitations.current_state(rt, row),
        mailed=row["mail_state"],
        accepted_at=row["accepted_at"],
        accepted_by=row["accepted_by"],
        grant_id=row["grant_id"],
    )


def _issued(rt: RuntimeDep, issued: Issued) -> InvitationIssued:
    base = f"/invitation-links/{issued.token}"
    return InvitationIssued(
        **_out(rt, issued.row).model_dump(),
        link=issued.link,
        qr_svg=f"{base}/qr.svg",
        qr_png=f"{base}/qr.png",
    )


@router.post("/invitations", status_code=201)
async def invite(body: InvitationIn, actor: ActorDep, rt: RuntimeDep) -> InvitationIssued:
    """Invite a person to a role for a party: only what you could grant (403 naming the rule
    otherwise), or, for a unit or community admin, a member of theirs to link their account
    (role `member`, party the member id). The link works once, until it expires."""
    return _issued(
        rt,
        await invitations.create(
            rt, actor, role=body.role, party_id=body.party_id, email=body.email
        ),
    )


@router.get("/invitations")
async def listed(
    actor: ActorDep,
    rt: RuntimeDep,
    limit: Limit = 100,
    offset: Offset = 0,
    party_id: Annotated[UUID | None, Query(description="one party of your scope")] = None,
) -> Page[InvitationOut]:
    rows, total = await invitations.listed(rt, actor, party_id=party_id, limit=limit, offset=offset)
    return page_of([_out(rt, r) for r in rows], limit=limit, offset=offset, total=total)


@router.get("/invitations/{invitation_id}", responses=refusals(404))
async def show(invitation_id: UUID, actor: ActorDep, rt: RuntimeDep) -> InvitationOut:
    return _out(rt, await invitations.get(rt, actor, invitation_id))


@router.delete("/invitations/{invitation_id}", responses=refusals(404, 409, 410))
async def withdraw(invitation_id: UUID, actor: ActorDep, rt: RuntimeDep) -> InvitationOut:
    """Withdraw an open invitation: its link stops working (410)."""
    return _out(rt, await invitations.withdraw(rt, actor, invitation_id))


@router.post("/invitations/{invitation_id}/renew", responses=refusals(404, 409, 410))
async def renew(invitation_id: UUID, actor: ActorDep, rt: RuntimeDep) -> InvitationIssued:
    """A new link and expiry for an open invitation (the old link stops working); mailed
    again if the address is still kept."""
    return _issued(rt, await invitations.renew(rt, actor, invitation_id))


@links.get(
    "/invitation-links/{token}",
    dependencies=[LinkLookups],
    responses=refusals(404, 422, 429),
)
async def preview(token: LinkToken, rt: RuntimeDep) -> InvitationPreview:
    """What a link invites to (no bearer token: the link is the secret)."""
    row = await invitations.lookup(rt, token)
    return InvitationPreview(
        role=Role(row["role"]),
        party_name=row["party_name"],
        expires_at=row["expires_at"],
        state=invitations.current_state(rt, row),
    )


@links.get(
    "/invitation-links/{token}/qr.svg",
    dependencies=[LinkLookups],
    response_class=Response,
    responses={200: {"content": {SVG: {}}}, **refusals(404, 422, 429)},
)
async def qr_svg(token: LinkToken, rt: RuntimeDep) -> Response:
    """The link's QR code, to show on a screen or print."""
    await invitations.lookup(rt, token)
    return Response(qr.svg(link_of(rt.settings, token)), media_type=SVG)


@links.get(
    "/invitation-links/{token}/qr.png",
    dependencies=[LinkLookups],
    response_class=Response,
    responses={200: {"content": {PNG: {}}}, **refusals(404, 422, 429)},
)
async def qr_png(token: LinkToken, rt: RuntimeDep) -> Response:
    await invitations.lookup(rt, token)
    return Response(qr.png(link_of(rt.settings, token)), media_type=PNG)


@links.post(
    "/invitation-links/{token}/accept",
    responses={**AUTHENTICATED, **refusals(404, 409, 410, 429)},
    dependencies=[LinkLookups],
)
async def accept(token: LinkToken, actor: ActorDep, rt: RuntimeDep) -> GrantOut:
    """Accept the invitation as the signed-in subject (a `person` token is enough): it
    becomes your grant. Used before: 409; expired or withdrawn: 410."""
    return grant_out(await invitations.accept(rt, actor, token))
