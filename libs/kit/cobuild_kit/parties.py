"""The parties directory read model (from party.* events) and scope checks built on it.

A street or district admin supervises the parties below it. A unit sits below the district it
belongs to and below every community it is paired with (结对), so supervisors of those see it.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg
from cobuild_contracts import PartyRegistered, PartyUpdated, Role

from cobuild_kit.auth import Actor
from cobuild_kit.consumer import ConsumerSpec, EventContext
from cobuild_kit.errors import Forbidden

SUPERVISORS = frozenset({Role.STREET_ADMIN, Role.DISTRICT_ADMIN})

_UPSERT = """
INSERT INTO party_directory (party_id, kind, name, parent_id, unit_type, paired_community_ids, active, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (party_id) DO UPDATE SET
    kind = EXCLUDED.kind, name = EXCLUDED.name, parent_id = EXCLUDED.parent_id,
    unit_type = EXCLUDED.unit_type, paired_community_ids = EXCLUDED.paired_community_ids,
    active = EXCLUDED.active, version = EXCLUDED.version, updated_at = now()
WHERE party_directory.version <= EXCLUDED.version
"""

_ANCESTORS = """
WITH RECURSIVE up(id) AS (
    SELECT s.id FROM (
        SELECT parent_id AS id FROM party_directory WHERE party_id = $1 AND parent_id IS NOT NULL
        UNION SELECT unnest(paired_community_ids) FROM party_directory WHERE party_id = $1
    ) s
    UNION
    SELECT p.parent_id FROM party_directory p JOIN up ON p.party_id = up.id
    WHERE p.parent_id IS NOT NULL
)
SELECT id FROM up
"""


async def apply_party(conn: asyncpg.Connection, event: PartyRegistered | PartyUpdated) -> None:
    await conn.execute(
        _UPSERT,
        event.party_id,
        event.kind.value,
        event.name,
        event.parent_id,
        event.unit_type.value if event.unit_type else None,
        list(event.paired_community_ids),
        event.active,
        event.version,
    )


def follow_parties(spec: ConsumerSpec) -> ConsumerSpec:
    """Add the directory handlers to a consumer of the agreements topic."""

    async def on_party(ctx: EventContext, event: PartyRegistered | PartyUpdated) -> None:
        await apply_party(ctx.conn, event)

    spec.handlers[PartyRegistered.EVENT_TYPE] = on_party
    spec.handlers[PartyUpdated.EVENT_TYPE] = on_party
    return spec


async def ancestors(conn: asyncpg.Connection, party_id: UUID) -> set[UUID]:
    return {r["id"] for r in await conn.fetch(_ANCESTORS, party_id)}


async def subtree(conn: asyncpg.Connection, root: UUID) -> set[UUID]:
    """Every party below `root` (units through their district or their pairings)."""
    rows = await conn.fetch(
        """WITH RECURSIVE down(id) AS (
               SELECT $1::uuid
               UNION
               SELECT p.party_id FROM party_directory p JOIN down ON p.parent_id = down.id
                   OR down.id = ANY(p.paired_community_ids)
           ) SELECT id FROM down""",
        root,
    )
    return {r["id"] for r in rows}


async def authorize(
    conn: asyncpg.Connection,
    actor: Actor,
    party_id: UUID,
    *,
    roles: frozenset[Role] | set[Role],
    supervisors_may: bool = False,
    action: str = "act",
) -> None:
    """Allow the party's own admins (in `roles`), and, when `supervisors_may`, street and
    district admins above it. Anything else is a 403 with the reason."""
    if actor.party_id == party_id and actor.role in roles:
        return
    if (
        supervisors_may
        and actor.role in SUPERVISORS
        and actor.party_id in await ancestors(conn, party_id)
    ):
        return
    if actor.role not in roles and not (supervisors_may and actor.role in SUPERVISORS):
        raise Forbidden(f"role {actor.role.value} may not {action}")
    raise Forbidden(f"{actor.role.value} of {actor.party_id} may not {action} for party {party_id}")
