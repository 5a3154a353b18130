"""Queries: one commitment, its history, lists by agreement/unit/community/status, task inboxes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from cobuild_contracts import Role
from cobuild_contracts.base import MAX_OFFSET, BusinessDate
from cobuild_kit.clock import business_date
from cobuild_kit.service import ActorDep, Runtime, RuntimeDep
from fastapi import APIRouter, Query

from cobuild_commitments.domain.commitment import Commitment, Status
from cobuild_commitments.domain.listing import Filters
from cobuild_commitments.http.models import CommitmentOut, HistoryEntry, Page
from cobuild_commitments.settings import settings_of
from cobuild_commitments.usecases import queries

router = APIRouter(tags=["queries"])
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


def _out(rt: Runtime, c: Commitment) -> CommitmentOut:
    return CommitmentOut.of(c, business_date(rt.clock.now()), settings_of(rt).reminder_days)


def _page(rt: Runtime, found: tuple[list[Commitment], int], limit: int, offset: int) -> Page:
    items, total = found
    today = business_date(rt.clock.now())
    days = settings_of(rt).reminder_days
    return Page(
        items=[CommitmentOut.of(c, today, days) for c in items],
        total=total,
        limit=limit,
        offset=offset,
        next_offset=offset + len(items) if offset + len(items) < total else None,
    )


@router.get("/commitments/{commitment_id}")
async def get_commitment(commitment_id: UUID, actor: ActorDep, rt: RuntimeDep) -> CommitmentOut:
    return _out(rt, await queries.commitment(rt, actor, commitment_id))


@router.get("/commitments/{commitment_id}/history")
async def get_history(commitment_id: UUID, actor: ActorDep, rt: RuntimeDep) -> list[HistoryEntry]:
    """Every event of the commitment, in order."""
    return [HistoryEntry(**r) for r in await queries.history_of(rt, actor, commitment_id)]


@router.get("/commitments")
async def list_commitments(
    actor: ActorDep,
    rt: RuntimeDep,
    agreement_id: UUID | None = None,
    unit_id: UUID | None = None,
    community_id: UUID | None = None,
    status: Status | None = None,
    overdue: bool | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page:
    """Commitments the caller may see (its party's, or its subtree's), filtered."""
    f = Filters(
        agreement_id=agreement_id,
        unit_id=unit_id,
        community_id=community_id,
        status=status,
        overdue=overdue,
    )
    return _page(rt, await queries.visible(rt, actor, f, limit, offset), limit, offset)


@router.get("/units/{unit_id}/tasks")
async def unit_tasks(
    unit_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    community_id: UUID | None = None,
    status: Status | None = None,
    overdue: bool | None = None,
    deadline_from: BusinessDate | None = None,
    deadline_to: BusinessDate | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page:
    """What the unit owes: overdue first, then open work, then awaiting confirmation, then
    finished; each by deadline. Reminders show on the items they concern."""
    f = Filters(
        obligor_party_id=unit_id,
        community_id=community_id,
        status=status,
        overdue=overdue,
        deadline_from=deadline_from,
        deadline_to=deadline_to,
    )
    found = await queries.inbox(rt, actor, unit_id, Role.UNIT_ADMIN, f, limit, offset)
    return _page(rt, found, limit, offset)


@router.get("/communities/{community_id}/tasks")
async def community_tasks(
    community_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    unit_id: UUID | None = None,
    status: Status | None = None,
    overdue: bool | None = None,
    deadline_from: BusinessDate | None = None,
    deadline_to: BusinessDate | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page:
    """What the community owes under two-way agreements (same order as a unit's inbox)."""
    f = Filters(
        obligor_party_id=community_id,
        unit_id=unit_id,
        status=status,
        overdue=overdue,
        deadline_from=deadline_from,
        deadline_to=deadline_to,
    )
    found = await queries.inbox(rt, actor, community_id, Role.COMMUNITY_ADMIN, f, limit, offset)
    return _page(rt, found, limit, offset)
