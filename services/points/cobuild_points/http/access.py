"""Who may see or touch a member: the member, the community they serve, their unit (totals)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts import Role
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Forbidden

COMMUNITY = frozenset({Role.COMMUNITY_ADMIN})
UNIT = frozenset({Role.UNIT_ADMIN})


class View(StrEnum):
    FULL = "full"  # the member, or the community admin they report to
    TOTALS = "totals"  # their unit admin: point totals only


def is_self(actor: Actor, member_id: UUID) -> bool:
    return actor.role is Role.MEMBER and actor.party_id == member_id


def require_self(actor: Actor, member_id: UUID, action: str) -> None:
    if not is_self(actor, member_id):
        raise Forbidden(f"only the member may {action}")


def serving_community(member: asyncpg.Record) -> UUID:
    """The community whose admin looks after the member (or is asked to accept them)."""
    key = "requested_community_id" if member["status"] == "requested" else "community_id"
    community: UUID = member[key]
    return community


def member_view(actor: Actor, member: asyncpg.Record, action: str = "see this member") -> View:
    if is_self(actor, member["member_id"]):
        return View.FULL
    if actor.role is Role.COMMUNITY_ADMIN and actor.party_id == serving_community(member):
        return View.FULL
    if actor.role is Role.UNIT_ADMIN and actor.party_id == member["unit_id"]:
        return View.TOTALS
    raise Forbidden(f"{actor.role.value} of {actor.party_id} may not {action}")


def plain(row: asyncpg.Record | dict[str, Any], *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """A row as JSON-ready values; decimals as strings (points never travel as floats)."""
    return {
        k: (format(v, "f") if isinstance(v, Decimal) else v)
        for k, v in dict(row).items()
        if k not in drop
    }
