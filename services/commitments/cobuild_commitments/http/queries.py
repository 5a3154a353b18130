"""Queries: one commitment, its history, lists by agreement/unit/community/status, task inboxes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from cobuild_contracts import Role
from cobuild_contracts.base import MAX_OFFSET, BusinessDate
from cobuild_kit.auth import Actor
from cobuild_kit.clock import business_date
from cobuild_kit.errors import Invalid, NotFound
from cobuild_kit.parties import authorize
from cobuild_kit.service import ActorDep, Runtime, RuntimeDep
from fastapi import APIRouter, Query

from cobuild_commitments import store
from cobuild_commitments.domain.commitment import Status
from cobuild_commitments.http.access import as_reader, visible_parties
from cobuild_commitments.http.models import CommitmentOut, HistoryEntry, Page
from cobuild_commitments.workers import settings_of

router = APIRouter(tags=["queries"])
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


async def _page(rt: Runtime, f: store.Filters, limit: int, offset: int, *, inbox: bool) -> Page:
    if f.deadline_from and f.deadline_to and f.deadline_to < f.deadline_from:
        raise Invalid("deadline_to is before deadline_from", field="query.deadline_to")
    today = business_date(rt.clock.now())
    days = settings_of(rt).reminder_days
    async with rt.pool.acquire() as conn:
        items, total = await store.search(conn, f, limit=limit, offset=offset, inbox_order=inbox)
    return Page(
        items=[CommitmentOut.of(c, today, days) for c in items],
        total=total,
        limit=limit,
        offset=offset,
        next_offset=offset + len(items) if offset + len(items) < total else None,
    )


@router.get("/commitments/{commitment_id}")
async def get_commitment(commitment_id: UUID, actor: ActorDep, rt: RuntimeDep) -> CommitmentOut:
    async with rt.pool.acquire() as conn:
        c = await store.load(conn, commitment_id, lock=False)
        if c is None:
            raise NotFound(f"no commitment {commitment_id}", field="path.commitment_id")
        await as_reader(conn, actor, c)
    return CommitmentOut.of(c, business_date(rt.clock.now()), settings_of(rt).reminder_days)


@router.get("/commitments/{commitment_id}/history")
async def get_history(commitment_id: UUID, actor: ActorDep, rt: RuntimeDep) -> list[HistoryEntry]:
    """Every event of the commitment, in order."""
    async with rt.pool.acquire() as conn:
        c = await store.load(conn, commitment_id, lock=False)
        if c is None:
            raise NotFound(f"no commitment {commitment_id}", field="path.commitment_id")
        await as_reader(conn, actor, c)
        return [HistoryEntry(**dict(r)) for r in await store.history(conn, commitment_id)]


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
    async with rt.pool.acquire() as conn:
        visible = await visible_parties(conn, actor)
    f = store.Filters(
        agreement_id=agreement_id,
        unit_id=unit_id,
        community_id=community_id,
        status=status,
        overdue=overdue,
        visible_to=visible,
    )
    return await _page(rt, f, limit, offset, inbox=False)


async def _inbox(
    rt: Runtime, actor: Actor, party_id: UUID, role: Role, f: store.Filters, limit: int, offset: int
) -> Page:
    async with rt.pool.acquire() as conn:
        await authorize(
            conn, actor, party_id, roles={role}, supervisors_may=True, action="see the task inbox"
        )
    return await _page(rt, f, limit, offset, inbox=True)


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
    f = store.Filters(
        obligor_party_id=unit_id,
        community_id=community_id,
        status=status,
        overdue=overdue,
        deadline_from=deadline_from,
        deadline_to=deadline_to,
    )
    return await _inbox(rt, actor, unit_id, Role.UNIT_ADMIN, f, limit, offset)


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
    f = store.Filters(
        obligor_party_id=community_id,
        unit_id=unit_id,
        status=status,
        overdue=overdue,
        deadline_from=deadline_from,
        deadline_to=deadline_to,
    )
    return await _inbox(rt, actor, community_id, Role.COMMUNITY_ADMIN, f, limit, offset)
