"""Queries: one whistle, its history and ratings summary, and the boxes a caller sees: the
matters its party raised, the queue it received (by time left), and, for a street or district,
every matter in its area."""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts import Role
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Forbidden

from cobuild_escalations.domain.whistle import State, Whistle
from cobuild_escalations.settings import EscalationsRuntime
from cobuild_escalations.store import codes, history, whistles
from cobuild_escalations.store.whistles import Filters
from cobuild_escalations.usecases.access import as_reader
from cobuild_escalations.usecases.lookup import existing


class Box(StrEnum):
    RAISED = "raised"  # what my community or street whistled (my matters)
    RECEIVED = "received"  # what my department, street or district must answer (the queue)
    SUPERVISED = "supervised"  # every matter in my street or district


_BOX_ROLES = {
    Box.RAISED: frozenset({Role.COMMUNITY_ADMIN, Role.STREET_ADMIN}),
    Box.RECEIVED: frozenset({Role.UNIT_ADMIN, Role.STREET_ADMIN, Role.DISTRICT_ADMIN}),
    Box.SUPERVISED: frozenset({Role.STREET_ADMIN, Role.DISTRICT_ADMIN}),
}


async def whistle(rt: EscalationsRuntime, actor: Actor, whistle_id: UUID) -> Whistle:
    async with rt.pool.acquire() as conn:
        w = await existing(conn, whistle_id)
    as_reader(actor, w)
    return w


async def history_of(
    rt: EscalationsRuntime, actor: Actor, whistle_id: UUID, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    async with rt.pool.acquire() as conn:
        w = await existing(conn, whistle_id)
        as_reader(actor, w)
        return await history.history(conn, whistle_id, limit=limit, offset=offset)


async def ratings_of(rt: EscalationsRuntime, actor: Actor, whistle_id: UUID) -> asyncpg.Record:
    async with rt.pool.acquire() as conn:
        w = await existing(conn, whistle_id)
        as_reader(actor, w)
        return await codes.summary(conn, whistle_id)


async def box(
    rt: EscalationsRuntime,
    actor: Actor,
    which: Box,
    states: tuple[State, ...] | None,
    limit: int,
    offset: int,
) -> tuple[list[Whistle], int]:
    """Ordered by time left (the limit the receiver works against now), then by age."""
    if actor.role not in _BOX_ROLES[which]:
        raise Forbidden(f"role {actor.role.value} has no {which.value} whistles")
    if which is Box.RAISED:
        f = Filters(raised_by_party=actor.party_id, states=states)
    elif which is Box.RECEIVED:
        f = Filters(received_by_party=actor.party_id, states=states)
    elif actor.role == Role.STREET_ADMIN:
        f = Filters(street_id=actor.party_id, states=states)
    else:
        f = Filters(district_id=actor.party_id, states=states)
    async with rt.pool.acquire() as conn:
        return await whistles.search(conn, f, limit=limit, offset=offset)
