"""The parties directory (party_directory, kept by the kit's parties consumer): held in memory
for ledger reads (who is above whom, names, children), and read a party at a time.

The directory is small (districts, streets, communities, units) and changes rarely; a trigger
counts its changes (migration 0002), so a request pays one cheap read to know its copy is
current instead of recursive ancestor queries and a query per level.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg
from cobuild_contracts import Role
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Forbidden
from cobuild_kit.parties import SUPERVISORS


@dataclass(frozen=True)
class Party:
    party_id: UUID
    kind: str
    name: str
    parent_id: UUID | None
    paired: tuple[UUID, ...]


@dataclass
class PartyTree:
    version: int
    parties: dict[UUID, Party]
    _kids: dict[tuple[UUID | None, str], list[UUID]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kids: dict[tuple[UUID | None, str], list[Party]] = defaultdict(list)
        for p in self.parties.values():
            kids[(p.parent_id, p.kind)].append(p)
        # Same order as the SQL it replaces: ORDER BY name, party_id.
        self._kids = {
            k: [p.party_id for p in sorted(v, key=lambda p: (p.name, p.party_id))]
            for k, v in kids.items()
        }

    def children(self, parent: UUID | None, kind: str) -> list[UUID]:
        return list(self._kids.get((parent, kind), []))

    def of_kind(self, kind: str) -> list[UUID]:
        found = [p for p in self.parties.values() if p.kind == kind]
        return [p.party_id for p in sorted(found, key=lambda p: (p.name, p.party_id))]

    def name(self, party_id: UUID) -> str | None:
        p = self.parties.get(party_id)
        return None if p is None else p.name

    def district_communities(self, district: UUID) -> dict[UUID, UUID]:
        """community → street, for the district's streets' communities."""
        return {
            c: s for s in self.children(district, "street") for c in self.children(s, "community")
        }

    def ancestors(self, party_id: UUID) -> set[UUID]:
        """As cobuild_kit.parties.ancestors: the parent chain, and the chains above the
        communities a unit is paired with."""
        p = self.parties.get(party_id)
        if p is None:
            return set()
        todo = [*([p.parent_id] if p.parent_id else []), *p.paired]
        seen: set[UUID] = set()
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            above = self.parties.get(current)
            if above is not None and above.parent_id is not None:
                todo.append(above.parent_id)
        return seen

    def permits(
        self,
        actor: Actor,
        party_id: UUID,
        *,
        roles: frozenset[Role] | set[Role],
        supervisors_may: bool = False,
    ) -> bool:
        """Whether the actor may act for the party: its own admin in one of `roles`, or (with
        `supervisors_may`) a street or district admin above it."""
        if actor.party_id == party_id and actor.role in roles:
            return True
        return (
            supervisors_may
            and actor.role in SUPERVISORS
            and actor.party_id in self.ancestors(party_id)
        )

    def authorize(
        self,
        actor: Actor,
        party_id: UUID,
        *,
        roles: frozenset[Role] | set[Role],
        supervisors_may: bool = False,
        action: str = "act",
    ) -> None:
        """cobuild_kit.parties.authorize against this copy (same rules, same reasons)."""
        if self.permits(actor, party_id, roles=roles, supervisors_may=supervisors_may):
            return
        if actor.role not in roles and not (supervisors_may and actor.role in SUPERVISORS):
            raise Forbidden(f"role {actor.role.value} may not {action}")
        raise Forbidden(
            f"{actor.role.value} of {actor.party_id} may not {action} for party {party_id}"
        )


# The database's identity rides along: one process may serve several databases (tests).
_VERSION = """SELECT version, current_database() AS db, inet_server_port() AS port
              FROM party_directory_version"""
_LOAD = """SELECT (SELECT version FROM party_directory_version) AS version,
                  party_id, kind, name, parent_id, paired_community_ids FROM party_directory"""


class PartyTrees:
    """One current copy per database."""

    def __init__(self) -> None:
        self._trees: dict[tuple[str, int | None], PartyTree] = {}
        self._lock = asyncio.Lock()

    async def current(self, conn: asyncpg.Connection) -> PartyTree:
        row = await conn.fetchrow(_VERSION)
        assert row is not None
        key, version = (row["db"], row["port"]), row["version"]
        tree = self._trees.get(key)
        if tree is not None and tree.version == version:
            return tree
        async with self._lock:
            tree = self._trees.get(key)
            if tree is None or tree.version != version:
                tree = await load(conn)
                self._trees[key] = tree
            return tree


async def load(conn: asyncpg.Connection) -> PartyTree:
    # One statement: the version read and the rows share a snapshot.
    rows = await conn.fetch(_LOAD)
    version = (
        rows[0]["version"]
        if rows
        else await conn.fetchval("SELECT version FROM party_directory_version")
    )
    parties = {
        r["party_id"]: Party(
            r["party_id"], r["kind"], r["name"], r["parent_id"], tuple(r["paired_community_ids"])
        )
        for r in rows
    }
    return PartyTree(int(version), parties)


TREES = PartyTrees()


async def names(conn: asyncpg.Connection, ids: list[UUID]) -> dict[UUID, str]:
    rows = await conn.fetch(
        "SELECT party_id, name FROM party_directory WHERE party_id = ANY($1)", ids
    )
    return {r["party_id"]: r["name"] for r in rows}


async def place(conn: asyncpg.Connection, party_id: UUID, kind: str) -> asyncpg.Record | None:
    """A party of this kind: its id, name and parent."""
    return await conn.fetchrow(
        "SELECT party_id, name, parent_id FROM party_directory WHERE party_id = $1 AND kind = $2",
        party_id,
        kind,
    )


async def parent_of(conn: asyncpg.Connection, party_id: UUID) -> UUID | None:
    row = await conn.fetchrow("SELECT parent_id FROM party_directory WHERE party_id = $1", party_id)
    return None if row is None else row["parent_id"]
