"""What the parties directory (the kit's `party_directory`, fed by party.* events) says of
the parties a grant is for."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from cobuild_contracts import PartyKind
from cobuild_kit.parties import ancestors, subtree

from cobuild_access.domain.delegation import Target


async def target(conn: asyncpg.Connection, party_id: UUID) -> Target:
    row = await conn.fetchrow(
        "SELECT kind, active FROM party_directory WHERE party_id = $1", party_id
    )
    if row is None:
        return Target(party_id, None, False, frozenset())
    above = await ancestors(conn, party_id)
    return Target(party_id, PartyKind(row["kind"]), bool(row["active"]), frozenset(above))


async def below(conn: asyncpg.Connection, root: UUID) -> list[UUID]:
    """`root` and every party below it."""
    return sorted(await subtree(conn, root))
