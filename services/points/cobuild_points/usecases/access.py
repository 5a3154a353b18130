"""Who may see or touch a member: the member, the community they serve, their unit (totals).
The use cases ask it once they hold the member's row, inside their transaction."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

import asyncpg
from cobuild_contracts import Role
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Forbidden, NotFound
from cobuild_kit.parties import authorize

COMMUNITY = frozenset({Role.COMMUNITY_ADMIN})
UNIT = frozenset({Role.UNIT_ADMIN})


class View(StrEnum):
    FULL = "full"  # the member, or the community admin they report to
    TOTALS = "totals"  # their unit admin: point totals only


def may_register(actor: Actor, unit_id: UUID, community_id: UUID) -> bool:
    """A unit admin registers its members, a community admin those who live there."""
    return (actor.role is Role.UNIT_ADMIN and actor.party_id == unit_id) or (
        actor.role is Role.COMMUNITY_ADMIN and actor.party_id == community_id
    )


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


def member_view(actor: Actor, member: asyncpg.Record) -> View:
    """What the actor may read of the member. To anyone else the member does not exist: a
    404, as for an unknown id, so reads do not tell strangers who is registered."""
    if is_self(actor, member["member_id"]):
        return View.FULL
    if actor.role is Role.COMMUNITY_ADMIN and actor.party_id == serving_community(member):
        return View.FULL
    if actor.role is Role.UNIT_ADMIN and actor.party_id == member["unit_id"]:
        return View.TOTALS
    raise NotFound(f"member {member['member_id']} not found")


async def authorize_read(
    conn: asyncpg.Connection,
    actor: Actor,
    party_id: UUID,
    *,
    roles: frozenset[Role],
    supervisors_may: bool = False,
    what: str,
) -> None:
    """A read of what lies outside the actor's subtree answers 404 (`what` not found), not
    403: whether it exists is not the stranger's to learn (ARCHITECTURE.md, "Commands in,
    facts out"). Commands keep the kit's 403 with its reason."""
    try:
        await authorize(conn, actor, party_id, roles=roles, supervisors_may=supervisors_may)
    except Forbidden:
        raise NotFound(f"{what} not found") from None
