"""Publicity (上墙公示): what a community shows without a token. The router picks the fields."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts import CommitmentItem, PartyKind
from cobuild_kit.errors import NotFound

from cobuild_agreements.domain.privacy import mask
from cobuild_agreements.settings import AgreementsRuntime
from cobuild_agreements.store import agreements, lists, parties


async def community_name(rt: AgreementsRuntime, community_id: UUID) -> str:
    async with rt.pool.acquire() as conn:
        party = await parties.get(conn, community_id)
    if party is None or party.kind is not PartyKind.COMMUNITY:
        raise NotFound(f"community {community_id} is not registered")
    return party.name


async def published_needs(
    rt: AgreementsRuntime, community_id: UUID, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the community's published needs that are public, their text with personal
    data masked (the stored text is the parties')."""
    async with rt.pool.acquire() as conn:
        rows, total = await lists.community_needs(
            conn, community_id, public_only=True, status="published", limit=limit, offset=offset
        )
    masked = [
        {**dict(r), "title": mask(r["title"]), "description": mask(r["description"])} for r in rows
    ]
    return masked, total


def _masked(item: CommitmentItem) -> CommitmentItem:
    """A commitment's free text as the public sees it."""
    texts = {k: getattr(item, k) for k in ("title", "description", "responsible_title")}
    masked = {k: mask(v) for k, v in texts.items()}
    return item if masked == texts else item.model_copy(update=masked)


async def agreements_in_force(
    rt: AgreementsRuntime, community_id: UUID, limit: int, offset: int
) -> tuple[list[tuple[asyncpg.Record, list[CommitmentItem]]], int]:
    """A page of the community's signed agreements, newest first, each with its commitments
    in force."""
    out = []
    async with rt.pool.acquire() as conn:
        rows, total = await agreements.signed_of_community(
            conn, community_id, limit=limit, offset=offset
        )
        for row in rows:
            items = await agreements.in_force(conn, row["agreement_id"])
            out.append((row, [_masked(i) for i in items]))
    return out, total
