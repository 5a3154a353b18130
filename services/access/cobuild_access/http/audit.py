"""The audit: read and exported by a district admin (its district) or the operator; acts on
someone's behalf (代录) recorded by the admin who did them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated
from uuid import UUID

import asyncpg
from cobuild_contracts.base import UtcDatetime
from cobuild_kit.api import AUTHENTICATED, Limit, Offset, Page, page_of, refusals
from cobuild_kit.service import ActorDep
from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from cobuild_access.domain.audit import AuditKind, Outcome
from cobuild_access.http.views import Body, Subject
from cobuild_access.settings import RuntimeDep
from cobuild_access.store.audit import AuditFilter
from cobuild_access.usecases import audit

router = APIRouter(tags=["audit"], responses=AUTHENTICATED)


class AuditOut(BaseModel):
    audit_id: int
    at: datetime
    kind: AuditKind
    outcome: Outcome
    actor: str = Field(description="a subject, `service:<name>`, or `unknown` (a refused token)")
    actor_role: str | None
    actor_party: UUID | None
    subject: str | None
    role: str | None
    party_id: UUID | None
    grant_id: UUID | None
    invitation_id: UUID | None
    detail: str
    extra: dict[str, str]


def _out(row: asyncpg.Record) -> AuditOut:
    return AuditOut(
        **{k: row[k] for k in AuditOut.model_fields if k != "extra"},
        extra=json.loads(row["extra"]) if isinstance(row["extra"], str) else dict(row["extra"]),
    )


async def _filter(
    kind: AuditKind | None = None,
    actor: Annotated[str | None, Query(max_length=255)] = None,
    subject: Annotated[str | None, Query(max_length=255)] = None,
    party_id: UUID | None = None,
    since: Annotated[UtcDatetime | None, Query(description="from (inclusive)")] = None,
    until: Annotated[UtcDatetime | None, Query(description="until (exclusive)")] = None,
    outcome: Outcome | None = None,
) -> AuditFilter:
    return AuditFilter(
        kind=kind.value if kind else None,
        actor=actor,
        subject=subject,
        party_id=party_id,
        since=since,
        until=until,
        outcome=outcome.value if outcome else None,
    )


Filter = Annotated[AuditFilter, Depends(_filter)]


@router.get("/audit", responses=refusals(404))
async def listed(
    actor: ActorDep, rt: RuntimeDep, wanted: Filter, limit: Limit = 100, offset: Offset = 0
) -> Page[AuditOut]:
    """The audit of your district (the operator: all), newest first: grant changes,
    sign-ins, exchanges, refusals and acts on someone's behalf."""
    rows, total = await audit.page(rt, actor, wanted, limit=limit, offset=offset)
    return page_of([_out(r) for r in rows], limit=limit, offset=offset, total=total)


@router.get(
    "/audit.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **refusals(404)},
)
async def export(actor: ActorDep, rt: RuntimeDep, wanted: Filter) -> StreamingResponse:
    """The same records as CSV (UTF-8, oldest first), for the district's archive."""
    chunks: AsyncIterator[str] = await audit.export_csv(rt, actor, wanted)
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="cobuild-audit.csv"'},
    )


class OnBehalfIn(Body):
    action: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")] = (
        Field(description="what was done, e.g. points.report, points.sign_up")
    )
    on_behalf_of: Subject | None = Field(default=None, description="their subject, if known")
    party_id: UUID | None = Field(default=None, description="their party (a member id)")
    detail: Annotated[str, Field(max_length=500)] = ""


@router.post("/audit/on-behalf", status_code=204)
async def on_behalf(body: OnBehalfIn, actor: ActorDep, rt: RuntimeDep) -> None:
    """Record an act done for someone else (代录), by the admin who did it."""
    await audit.on_behalf(
        rt,
        actor,
        action=body.action,
        on_behalf_of=body.on_behalf_of,
        party_id=body.party_id,
        detail=body.detail,
    )
