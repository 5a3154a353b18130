"""Queries: one commitment, its history, the lists a caller may see and the task inboxes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID

from cobuild_contracts import Role
from cobuild_kit.auth import Actor
from cobuild_kit.errors import NotFound
from cobuild_kit.parties import authorize

from cobuild_commitments.domain.commitment import Commitment, Status
from cobuild_commitments.domain.listing import Filters
from cobuild_commitments.settings import CommitmentsRuntime
from cobuild_commitments.store import commitments, history
from cobuild_commitments.usecases.access import as_reader, domain_rules, hidden, visible_parties
from cobuild_commitments.usecases.lookup import existing


async def commitment(rt: CommitmentsRuntime, actor: Actor, commitment_id: UUID) -> Commitment:
    async with rt.pool.acquire() as conn:
        c = await existing(conn, commitment_id)
        await as_reader(conn, actor, c, experts_may=True)
    return c


async def fulfilled(rt: CommitmentsRuntime, commitment_id: UUID) -> Commitment:
    """A fulfilled commitment, for anyone (its public part); any other is not found."""
    async with rt.pool.acquire() as conn:
        c = await existing(conn, commitment_id)
    if c.status is not Status.FULFILLED:
        raise NotFound(f"no commitment {commitment_id}", field="path.commitment_id")
    return c


async def history_of(
    rt: CommitmentsRuntime, actor: Actor, commitment_id: UUID, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the commitment's events in order, and how many there are."""
    async with rt.pool.acquire() as conn:
        c = await existing(conn, commitment_id)
        await as_reader(conn, actor, c)
        return await history.history(conn, commitment_id, limit=limit, offset=offset)


async def _search(
    rt: CommitmentsRuntime, f: Filters, limit: int, offset: int, *, inbox: bool
) -> tuple[list[Commitment], int]:
    with domain_rules():
        f.check()
    async with rt.pool.acquire() as conn:
        return await commitments.search(conn, f, limit=limit, offset=offset, inbox_order=inbox)


async def visible(
    rt: CommitmentsRuntime, actor: Actor, f: Filters, limit: int, offset: int
) -> tuple[list[Commitment], int]:
    """Commitments the caller may see (its party's, or its subtree's), filtered by `f`."""
    async with rt.pool.acquire() as conn:
        parties = await visible_parties(conn, actor)
    return await _search(rt, replace(f, visible_to=parties), limit, offset, inbox=False)


async def inbox(
    rt: CommitmentsRuntime,
    actor: Actor,
    party_id: UUID,
    role: Role,
    f: Filters,
    limit: int,
    offset: int,
) -> tuple[list[Commitment], int]:
    """What `party_id` owes, for its admin or a supervisor: overdue first, then open work, then
    awaiting confirmation, then finished; each by deadline."""
    # Another party's inbox is hidden like a commitment one may not read (a 404).
    field = "path.unit_id" if role is Role.UNIT_ADMIN else "path.community_id"
    async with rt.pool.acquire() as conn:
        with hidden(f"no task inbox of party {party_id}", field=field):
            await authorize(
                conn,
                actor,
                party_id,
                roles={role},
                supervisors_may=True,
                action="see the task inbox",
            )
    return await _search(rt, f, limit, offset, inbox=True)
