"""Who may act or read: each check raises Forbidden (403 with a reason) or NotFound (404).

The checks that need the party tree ask the kit's `authorize`, inside the caller's transaction.
A read of one need, resource or agreement that the actor may not see answers as if it did not
exist (`hidden`): a 403 would tell that it does (ARCHITECTURE.md, "Commands in, facts out").
A list asked for a party is refused with 403 and its reason: parties are public in the
directory, so the refusal tells nothing a client could not read there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

import asyncpg
from cobuild_contracts import PartyKind, Role, Visibility
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Forbidden, NotFound
from cobuild_kit.parties import authorize

from cobuild_agreements.domain.directory import Party
from cobuild_agreements.store import parties


@contextmanager
def hidden(not_found: str, field: str) -> Iterator[None]:
    """Around loading a thing by its id and checking that the actor may read it: a thing that
    is missing and one that may not be read both answer 404 with `not_found`, naming the path
    parameter, so the two cannot be told apart."""
    try:
        yield
    except (Forbidden, NotFound):
        raise NotFound(not_found, field=field) from None


def acting_side(actor: Actor, community_id: UUID, unit_id: UUID, action: str) -> UUID:
    """The party of the agreement the actor acts for: only a party's own admin acts for it."""
    if actor.role is Role.COMMUNITY_ADMIN and actor.party_id == community_id:
        return community_id
    if actor.role is Role.UNIT_ADMIN and actor.party_id == unit_id:
        return unit_id
    raise Forbidden(
        f"{actor.role.value} of {actor.party_id} may not {action}: only the admins of "
        f"community {community_id} or unit {unit_id} may"
    )


async def may_read_pair(
    conn: asyncpg.Connection, actor: Actor, community_id: UUID, unit_id: UUID, what: str
) -> None:
    """Either party's own admins, or supervisors above either party."""
    try:
        await authorize(
            conn,
            actor,
            community_id,
            roles={Role.COMMUNITY_ADMIN},
            supervisors_may=True,
            action=f"read {what}",
        )
    except Forbidden:
        await authorize(
            conn,
            actor,
            unit_id,
            roles={Role.UNIT_ADMIN},
            supervisors_may=True,
            action=f"read {what}",
        )


async def may_read_agreements_of(conn: asyncpg.Connection, actor: Actor, party_id: UUID) -> None:
    await authorize(
        conn,
        actor,
        party_id,
        roles={Role.COMMUNITY_ADMIN, Role.UNIT_ADMIN},
        supervisors_may=True,
        action="read this party's agreements",
    )


# --- needs -----------------------------------------------------------------------------


async def may_publish_needs(conn: asyncpg.Connection, actor: Actor, community_id: UUID) -> None:
    await authorize(conn, actor, community_id, roles={Role.COMMUNITY_ADMIN}, action="publish needs")


async def may_read_needs_of(conn: asyncpg.Connection, actor: Actor, community_id: UUID) -> None:
    """The community's admins and supervisors above it."""
    await authorize(
        conn,
        actor,
        community_id,
        roles={Role.COMMUNITY_ADMIN},
        supervisors_may=True,
        action="read this community's needs",
    )


async def may_read_need(conn: asyncpg.Connection, actor: Actor, need: asyncpg.Record) -> None:
    """The community's admins and supervisors; a unit admin when the need is visible to it."""
    if actor.role is Role.UNIT_ADMIN:
        if need["visibility"] == Visibility.PUBLIC.value:
            return
        unit = await parties.get(conn, actor.party_id)
        if (
            need["visibility"] == Visibility.PAIRED_UNITS.value
            and unit
            and (need["community_id"] in unit.paired_community_ids)
        ):
            return
        raise Forbidden(f"need {need['need_id']} is not visible to unit {actor.party_id}")
    await may_read_needs_of(conn, actor, need["community_id"])


async def may_claim_needs(conn: asyncpg.Connection, actor: Actor, unit_id: UUID) -> None:
    await authorize(conn, actor, unit_id, roles={Role.UNIT_ADMIN}, action="claim needs")


# --- resources -------------------------------------------------------------------------


async def may_offer(conn: asyncpg.Connection, actor: Actor, unit_id: UUID) -> None:
    await authorize(conn, actor, unit_id, roles={Role.UNIT_ADMIN}, action="offer resources")


async def may_read_resources_of(conn: asyncpg.Connection, actor: Actor, unit_id: UUID) -> None:
    """The unit's admins and supervisors; community admins too (they look for offers)."""
    if actor.role is Role.COMMUNITY_ADMIN:
        return
    await authorize(
        conn,
        actor,
        unit_id,
        roles={Role.UNIT_ADMIN},
        supervisors_may=True,
        action="read this unit's resources",
    )


def may_read_resource_matches(actor: Actor) -> None:
    """A resource's matches name needs: not for community admins, who see offers only."""
    if actor.role is Role.COMMUNITY_ADMIN:
        raise Forbidden("a resource's matches are for its unit and supervisors")


# --- alliances and joint meetings --------------------------------------------------------

# The admins of an alliance's host: a street's alliance is its street admins', a community's
# its community admins'; the street and district admins above act for it too (supervisors).
HOST_ADMIN = {PartyKind.STREET: Role.STREET_ADMIN, PartyKind.COMMUNITY: Role.COMMUNITY_ADMIN}
PLACE_ADMIN = {**HOST_ADMIN, PartyKind.DISTRICT: Role.DISTRICT_ADMIN}


async def may_run_alliance(
    conn: asyncpg.Connection, actor: Actor, host_id: UUID, host_kind: PartyKind, action: str
) -> None:
    """Form an alliance, change its members or rotation, record its meetings: the host's own
    admins and the supervisors above the host; anyone else is refused with the reason."""
    await authorize(
        conn, actor, host_id, roles={HOST_ADMIN[host_kind]}, supervisors_may=True, action=action
    )


async def may_read_alliance(
    conn: asyncpg.Connection, actor: Actor, alliance: asyncpg.Record, ever_member: bool
) -> None:
    """The host's admins and supervisors; the admins of a unit that is or was a member; for a
    street's alliance, the admins of the street's communities (its decisions' beneficiaries)."""
    if actor.role is Role.UNIT_ADMIN and ever_member:
        return
    host_kind = PartyKind(alliance["host_kind"])
    if actor.role is Role.COMMUNITY_ADMIN and host_kind is PartyKind.STREET:
        community = await parties.get(conn, actor.party_id)
        if community is not None and community.parent_id == alliance["host_party_id"]:
            return
    await may_run_alliance(conn, actor, alliance["host_party_id"], host_kind, "read this alliance")


async def may_list_alliances_of(conn: asyncpg.Connection, actor: Actor, party: Party) -> None:
    """The party's own admins and the supervisors above it."""
    role = Role.UNIT_ADMIN if party.kind is PartyKind.UNIT else PLACE_ADMIN.get(party.kind)
    await authorize(
        conn,
        actor,
        party.party_id,
        roles={role} if role else set(),
        supervisors_may=True,
        action="list this party's alliances",
    )
