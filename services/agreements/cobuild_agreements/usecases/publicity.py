"""Publicity (上墙公示): what a community shows without a token. The router picks the fields."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from cobuild_contracts import CommitmentItem, PartyKind
from cobuild_kit.errors import NotFound
from cobuild_kit.service import Runtime

from cobuild_agreements.store import agreements, lists, parties


async def community_name(rt: Runtime, community_id: UUID) -> str:
    async with rt.pool.acquire() as conn:
        party = await parties.get(conn, community_id)
    if party is None or party.kind is not PartyKind.COMMUNITY:
        raise NotFound(f"community {community_id} is not registered")
    return party.name


async def published_needs(rt: Runtime, community_id: UUID) -> list[asyncpg.Record]:
    """The community's published needs that are public."""
    async with rt.pool.acquire() as conn:
        return await lists.community_needs(conn, community_id, public_only=True, status="published")


async def agreements_in_force(
    rt: Runtime, community_id: UUID
) -> list[tuple[asyncpg.Record, list[CommitmentItem]]]:
    """The community's signed agreements, newest first, each with its commitments in force."""
    out = []
    async with rt.pool.acquire() as conn:
        for row in await agreements.signed_of_community(conn, community_id):
            out.append((row, await agreements.in_force(conn, row["agreement_id"])))
    return out
