"""Publicity (上墙公示): a community's current needs and signed agreements, with no token.

Only organisations, places, positions and figures are shown: no member ids, no names.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from cobuild_contracts import PartyKind
from cobuild_kit.errors import NotFound
from cobuild_kit.service import PublicRateLimit, RuntimeDep
from fastapi import APIRouter

from cobuild_agreements.store import agreements, lists, parties

router = APIRouter(prefix="/public", tags=["public"], dependencies=[PublicRateLimit])

_NEED_FIELDS = (
    "need_id", "version", "category", "kind", "title", "description", "quantity",
    "quantity_unit", "funds_fen", "wanted_by", "beneficiaries", "published_at",
)  # fmt: skip
_ITEM_FIELDS = (
    "commitment_id",
    "title",
    "description",
    "kind",
    "category",
    "obligor_party_id",
    "beneficiary_party_id",
    "responsible_title",
    "deadline",
    "funds_fen",
    "quantity",
    "quantity_unit",
    "need_id",
)  # fmt: skip — responsible_member_id is personal and stays out


async def _community(rt: RuntimeDep, community_id: UUID) -> str:
    async with rt.pool.acquire() as conn:
        party = await parties.get(conn, community_id)
    if party is None or party.kind is not PartyKind.COMMUNITY:
        raise NotFound(f"community {community_id} is not registered")
    return party.name


@router.get("/communities/{community_id}/needs")
async def community_needs(community_id: UUID, rt: RuntimeDep) -> dict[str, Any]:
    """The community's published needs that are public."""
    name = await _community(rt, community_id)
    async with rt.pool.acquire() as conn:
        rows = await lists.community_needs(conn, community_id, public_only=True, status="published")
    return {
        "community_id": community_id,
        "community_name": name,
        "needs": [{k: r[k] for k in _NEED_FIELDS} for r in rows],
    }


@router.get("/communities/{community_id}/agreements")
async def community_agreements(community_id: UUID, rt: RuntimeDep) -> dict[str, Any]:
    """The community's agreements in force, each with its commitments."""
    name = await _community(rt, community_id)
    out = []
    async with rt.pool.acquire() as conn:
        for row in await agreements.signed_of_community(conn, community_id):
            items = await agreements.in_force(conn, row["agreement_id"])
            out.append(
                {
                    "agreement_id": row["agreement_id"],
                    "unit_id": row["unit_id"],
                    "unit_name": row["unit_name"],
                    "origin": row["origin"],
                    "version": row["signed_version"],
                    "signed_at": row["signed_at"],
                    "commitments": [
                        {k: v for k, v in i.model_dump().items() if k in _ITEM_FIELDS}
                        for i in items
                    ],
                }
            )
    return {"community_id": community_id, "community_name": name, "agreements": out}
