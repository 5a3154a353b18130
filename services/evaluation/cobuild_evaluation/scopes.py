"""Ledger scopes over the parties read model: what is below what, and who may read it.

Hierarchy: all → districts → streets → communities → agreements → commitments; a unit's
drill-down is its agreements.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

import asyncpg
from cobuild_contracts import Role
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Forbidden, NotFound
from cobuild_kit.parties import authorize

from cobuild_evaluation.ledger_store import ALL_SCOPE

READERS = frozenset({Role.COMMUNITY_ADMIN, Role.UNIT_ADMIN, Role.STREET_ADMIN, Role.DISTRICT_ADMIN})


class ScopeKind(StrEnum):
    ALL = "all"
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    UNIT = "unit"
    AGREEMENT = "agreement"
    COMMITMENT = "commitment"


CHILD_KIND = {
    ScopeKind.ALL: ScopeKind.DISTRICT,
    ScopeKind.DISTRICT: ScopeKind.STREET,
    ScopeKind.STREET: ScopeKind.COMMUNITY,
    ScopeKind.COMMUNITY: ScopeKind.AGREEMENT,
    ScopeKind.UNIT: ScopeKind.AGREEMENT,
    ScopeKind.AGREEMENT: ScopeKind.COMMITMENT,
}


async def stored_ids(
    conn: asyncpg.Connection, kind: ScopeKind, sid: UUID
) -> tuple[str, list[UUID]]:
    """The kept scope rows that sum to this scope (streets and districts: their communities)."""
    if kind == ScopeKind.ALL:
        return "all", [ALL_SCOPE]
    if kind == ScopeKind.STREET:
        return "community", await _kids(conn, sid, "community")
    if kind == ScopeKind.DISTRICT:
        rows = await conn.fetch(
            """SELECT c.party_id FROM party_directory c JOIN party_directory s ON c.parent_id = s.party_id
               WHERE s.parent_id = $1 AND s.kind = 'street' AND c.kind = 'community'""",
            sid,
        )
        return "community", [r["party_id"] for r in rows]
    return kind.value, [sid]


async def _kids(conn: asyncpg.Connection, parent: UUID, kind: str) -> list[UUID]:
    rows = await conn.fetch(
        "SELECT party_id FROM party_directory WHERE parent_id = $1 AND kind = $2 ORDER BY name, party_id",
        parent,
        kind,
    )
    return [r["party_id"] for r in rows]


async def children(conn: asyncpg.Connection, kind: ScopeKind, sid: UUID) -> list[UUID]:
    if kind == ScopeKind.ALL:
        rows = await conn.fetch(
            "SELECT party_id FROM party_directory WHERE kind = 'district' ORDER BY name, party_id"
        )
        return [r["party_id"] for r in rows]
    if kind == ScopeKind.DISTRICT:
        return await _kids(conn, sid, "street")
    if kind == ScopeKind.STREET:
        return await _kids(conn, sid, "community")
    if kind in (ScopeKind.COMMUNITY, ScopeKind.UNIT):
        col = "community_id" if kind == ScopeKind.COMMUNITY else "unit_id"
        rows = await conn.fetch(
            f"""SELECT agreement_id FROM agreements WHERE {col} = $1
                UNION SELECT DISTINCT agreement_id FROM ledger_commitments WHERE {col} = $1
                ORDER BY 1""",
            sid,
        )
        return [r["agreement_id"] for r in rows]
    if kind == ScopeKind.AGREEMENT:
        rows = await conn.fetch(
            "SELECT commitment_id FROM ledger_commitments WHERE agreement_id = $1 ORDER BY deadline, commitment_id",
            sid,
        )
        return [r["commitment_id"] for r in rows]
    return []


async def parties_of(conn: asyncpg.Connection, kind: ScopeKind, sid: UUID) -> list[UUID]:
    """The parties whose admins (or supervisors) may read this scope."""
    if kind == ScopeKind.AGREEMENT:
        row = await conn.fetchrow(
            """SELECT community_id, unit_id FROM agreements WHERE agreement_id = $1
               UNION ALL SELECT community_id, unit_id FROM ledger_commitments WHERE agreement_id = $1
               LIMIT 1""",
            sid,
        )
    elif kind == ScopeKind.COMMITMENT:
        row = await conn.fetchrow(
            "SELECT community_id, unit_id FROM ledger_commitments WHERE commitment_id = $1", sid
        )
    else:
        return [sid]
    if row is None:
        raise NotFound(f"no {kind.value} {sid}")
    return [row["community_id"], row["unit_id"]]


async def authorize_read(
    conn: asyncpg.Connection, actor: Actor, kind: ScopeKind, sid: UUID
) -> None:
    """A party's own admins and the street/district admins above it; 'all' is the district's."""
    if kind == ScopeKind.ALL:
        if actor.role != Role.DISTRICT_ADMIN:
            raise Forbidden(f"role {actor.role.value} may not read the whole ledger")
        return
    refusal: Forbidden | None = None
    for party in await parties_of(conn, kind, sid):
        try:
            await authorize(
                conn, actor, party, roles=READERS, supervisors_may=True, action="read this ledger"
            )
            return
        except Forbidden as exc:
            refusal = exc
    assert refusal is not None
    raise refusal


async def names(conn: asyncpg.Connection, ids: list[UUID]) -> dict[UUID, str]:
    rows = await conn.fetch(
        "SELECT party_id, name FROM party_directory WHERE party_id = ANY($1)", ids
    )
    return {r["party_id"]: r["name"] for r in rows}
