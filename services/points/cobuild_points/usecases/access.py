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

from cobuild_points.store import members

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


def looks_after(actor: Actor, member: asyncpg.Record) -> bool:
    """Whether a registering admin may know of the member already: one of their unit (a
    unit admin), or one living in, serving or asking to serve their community (a community
    admin). A phone registered to anyone else is not named as registered to them."""
    if actor.role is Role.UNIT_ADMIN:
        return bool(member["unit_id"] == actor.party_id)
    if actor.role is Role.COMMUNITY_ADMIN:
        return actor.party_id in {
            member["residence_community_id"],
            member["community_id"],
            member["requested_community_id"],
        }
    return False


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


def hidden(what: str, field: str) -> NotFound:
    """The one answer for what does not exist and for what lies outside the actor's reach:
    the same message and field, so a read does not tell a stranger what exists
    (ARCHITECTURE.md, "Commands in, facts out"). Commands keep their 403 with a reason."""
    return NotFound(f"{what} not found", field=field)


def member_view(actor: Actor, member: asyncpg.Record) -> View | None:
    """What the actor may read of the member; None: nothing (the member is hidden)."""
    if is_self(actor, member["member_id"]):
        return View.FULL
    if actor.role is Role.COMMUNITY_ADMIN and actor.party_id == serving_community(member):
        return View.FULL
    if actor.role is Role.UNIT_ADMIN and actor.party_id == member["unit_id"]:
        return View.TOTALS
    return None


async def visible_member(
    conn: asyncpg.Connection, actor: Actor, member_id: UUID, *, needs: View = View.TOTALS
) -> tuple[asyncpg.Record, View]:
    """The member and the actor's view of them, at least `needs`; otherwise 404 naming
    `path.member_id`, as for an unknown id."""
    row = await members.find(conn, member_id)
    view = member_view(actor, row) if row is not None else None
    if row is None or view is None or (needs is View.FULL and view is not View.FULL):
        raise hidden(f"member {member_id}", "path.member_id")
    return row, view


async def authorize_read(
    conn: asyncpg.Connection,
    actor: Actor,
    party_id: UUID,
    *,
    roles: frozenset[Role],
    supervisors_may: bool = False,
    what: str,
    field: str,
) -> None:
    """A read of what lies outside the actor's subtree answers 404 (`what` not found, naming
    `field`), not 403."""
    try:
        await authorize(conn, actor, party_id, roles=roles, supervisors_may=supervisors_may)
    except Forbidden:
        raise hidden(what, field) from None
