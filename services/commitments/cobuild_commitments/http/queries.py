"""Queries: one commitment, its history, lists by agreement/unit/community/status, task inboxes.

Every list is the kit's page (`?limit=&offset=`, `total` counted). A commitment or an inbox the
caller may not read answers 404, as one that does not exist does.
"""

from __future__ import annotations

from uuid import UUID

from cobuild_contracts import Role
from cobuild_contracts.base import BusinessDate
from cobuild_kit.api import (
    AUTHENTICATED,
    DEFAULT_PAGE,
    MAX_PAGE,
    Limit,
    Offset,
    Page,
    page_of,
    refusals,
)
from cobuild_kit.clock import business_date
from cobuild_kit.service import ActorDep
from fastapi import APIRouter

from cobuild_commitments.domain.commitment import Commitment, Status
from cobuild_commitments.domain.listing import Filters
from cobuild_commitments.http.models import CommitmentOut, HistoryEntry
from cobuild_commitments.settings import CommitmentsRuntime, RuntimeDep
from cobuild_commitments.usecases import queries

router = APIRouter(tags=["queries"], responses=AUTHENTICATED)
_HIDDEN = refusals(404)


def _page(
    rt: CommitmentsRuntime, found: tuple[list[Commitment], int], limit: int, offset: int
) -> Page[CommitmentOut]:
    items, total = found
    today = business_date(rt.clock.now())
    days = rt.settings.reminder_days
    shaped = [CommitmentOut.of(c, today, days) for c in items]
    return page_of(shaped, limit=limit, offset=offset, total=total)


@router.get("/commitments/{commitment_id}", responses=_HIDDEN)
async def get_commitment(commitment_id: UUID, actor: ActorDep, rt: RuntimeDep) -> CommitmentOut:
    """One commitment, for either party's admin or a street/district admin above either."""
    c = await queries.commitment(rt, actor, commitment_id)
    return CommitmentOut.of(c, business_date(rt.clock.now()), rt.settings.reminder_days)


@router.get("/commitments/{commitment_id}/history", responses=_HIDDEN)
async def get_history(
    commitment_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    # A commitment's journal is tens of entries: by default it comes whole on one page.
    limit: Limit = MAX_PAGE,
    offset: Offset = 0,
) -> Page[HistoryEntry]:
    """Every event of the commitment, in order, with the steps that publish none (marking
    done, `published: false`)."""
    found, total = await queries.history_of(rt, actor, commitment_id, limit, offset)
    entries = [HistoryEntry(**r) for r in found]
    return page_of(entries, limit=limit, offset=offset, total=total)


@router.get("/commitments")
async def list_commitments(
    actor: ActorDep,
    rt: RuntimeDep,
    agreement_id: UUID | None = None,
    unit_id: UUID | None = None,
    community_id: UUID | None = None,
    status: Status | None = None,
    overdue: bool | None = None,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[CommitmentOut]:
    """Commitments the caller may see (its party's, or its subtree's), filtered."""
    f = Filters(
        agreement_id=agreement_id,
        unit_id=unit_id,
        community_id=community_id,
        status=status,
        overdue=overdue,
    )
    return _page(rt, await queries.visible(rt, actor, f, limit, offset), limit, offset)


@router.get("/units/{unit_id}/tasks", responses=_HIDDEN)
async def unit_tasks(
    unit_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    community_id: UUID | None = None,
    status: Status | None = None,
    overdue: bool | None = None,
    deadline_from: BusinessDate | None = None,
    deadline_to: BusinessDate | None = None,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[CommitmentOut]:
    """What the unit owes: overdue first, then open work, then awaiting confirmation, then
    finished; each by deadline. Reminders show on the items they concern. For the unit's admin
    and the street/district admins above it."""
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


@router.get("/communities/{community_id}/tasks", responses=_HIDDEN)
async def community_tasks(
    community_id: UUID,
    actor: ActorDep,
    rt: RuntimeDep,
    unit_id: UUID | None = None,
    status: Status | None = None,
    overdue: bool | None = None,
    deadline_from: BusinessDate | None = None,
    deadline_to: BusinessDate | None = None,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[CommitmentOut]:
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
