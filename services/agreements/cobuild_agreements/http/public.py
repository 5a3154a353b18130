"""Publicity (上墙公示): a community's current needs and signed agreements, with no token.

Only organisations, places, positions and figures are shown: no member ids, no names.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from cobuild_kit.service import PublicRateLimit, RuntimeDep
from fastapi import APIRouter

from cobuild_agreements.usecases import publicity

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


@router.get("/communities/{community_id}/needs")
async def community_needs(community_id: UUID, rt: RuntimeDep) -> dict[str, Any]:
    """The community's published needs that are public."""
    name = await publicity.community_name(rt, community_id)
    rows = await publicity.published_needs(rt, community_id)
    return {
        "community_id": community_id,
        "community_name": name,
        "needs": [{k: r[k] for k in _NEED_FIELDS} for r in rows],
    }


@router.get("/communities/{community_id}/agreements")
async def community_agreements(community_id: UUID, rt: RuntimeDep) -> dict[str, Any]:
    """The community's agreements in force, each with its commitments."""
    name = await publicity.community_name(rt, community_id)
    out = [
        {
            "agreement_id": row["agreement_id"],
            "unit_id": row["unit_id"],
            "unit_name": row["unit_name"],
            "origin": row["origin"],
            "version": row["signed_version"],
            "signed_at": row["signed_at"],
            "commitments": [
                {k: v for k, v in i.model_dump().items() if k in _ITEM_FIELDS} for i in items
            ],
        }
        for row, items in await publicity.agreements_in_force(rt, community_id)
    ]
    return {"community_id": community_id, "community_name": name, "agreements": out}
