"""The street's news: needs and resources as the agreements service's events describe them
(the current version's title and visibility, open or not), and who may hear of one, from the
parties directory (`party.*`, the kit's read model) and the grants (`grant.*`).

Who hears of a need: its street's admins, and the admins of the units that may see it (a
public need: every unit paired with a community of the street; paired_units: the units paired
with its community; private: none). Of a resource: the admins of the streets its unit serves
(through its pairings) and of their communities (only those it serves, when it names them).
The publisher's own workers are not told of their own. Units never hear of another unit's
resources, nor one community's workers of another's needs: the agreements service shows them
neither (ARCHITECTURE.md, "Notifications")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class Item:
    item_id: UUID
    item_kind: str  # need, resource
    party_id: UUID
    title: str
    visibility: str
    community_ids: tuple[UUID, ...]
    available_until: date | None
    version: int
    open: bool


def _of(row: asyncpg.Record) -> Item:
    return Item(
        item_id=row["item_id"], item_kind=row["item_kind"], party_id=row["party_id"],
        title=row["title"], visibility=row["visibility"],
        community_ids=tuple(row["community_ids"]), available_until=row["available_until"],
        version=row["version"], open=row["open"],
    )  # fmt: skip


async def published(conn: asyncpg.Connection, item: Item, at: datetime) -> bool:
    """Record a version; True when the item is new here (its first version seen), the one
    that goes into digests. An older version arriving late changes nothing, and a revision
    keeps an item closed that was closed."""
    row = await conn.fetchrow(
        """INSERT INTO street_items (item_id, item_kind, party_id, title, visibility,
               community_ids, available_until, version, open, changed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, $9)
           ON CONFLICT (item_id) DO UPDATE SET title = EXCLUDED.title,
               visibility = EXCLUDED.visibility, community_ids = EXCLUDED.community_ids,
               available_until = EXCLUDED.available_until, version = EXCLUDED.version,
               changed_at = EXCLUDED.changed_at
           WHERE street_items.version < EXCLUDED.version
           RETURNING (xmax = 0) AS inserted""",
        item.item_id, item.item_kind, item.party_id, item.title, item.visibility,
        list(item.community_ids), item.available_until, item.version, at,
    )  # fmt: skip
    return row is not None and bool(row["inserted"])


async def closed(conn: asyncpg.Connection, item_id: UUID, at: datetime) -> None:
    """Withdrawn or claimed: no longer in any digest that has not gone yet. (A closure comes
    after its item's publication: both travel under the item's key.)"""
    await conn.execute(
        "UPDATE street_items SET open = false, changed_at = $2 WHERE item_id = $1", item_id, at
    )


async def get(conn: asyncpg.Connection, item_id: UUID) -> Item | None:
    row = await conn.fetchrow("SELECT * FROM street_items WHERE item_id = $1", item_id)
    return None if row is None else _of(row)


async def place_name(conn: asyncpg.Connection, party_id: UUID) -> str:
    value = await conn.fetchval("SELECT name FROM party_directory WHERE party_id = $1", party_id)
    return value if isinstance(value, str) else ""


async def unknown_parties(conn: asyncpg.Connection, item: Item) -> list[UUID]:
    """The parties the item's audience depends on that the directory lacks (its community;
    its unit and that unit's paired communities)."""
    wanted = [item.party_id]
    if item.item_kind == "resource":
        pairs = await conn.fetchval(
            "SELECT paired_community_ids FROM party_directory WHERE party_id = $1", item.party_id
        )
        wanted += list(pairs or [])
    rows = await conn.fetch(
        "SELECT party_id FROM party_directory WHERE party_id = ANY($1::uuid[])", wanted
    )
    have = {r["party_id"] for r in rows}
    return [p for p in wanted if p not in have]


# The street(s) of an item, their active communities and the active units paired with them.
_STREETS = """
SELECT s.party_id FROM party_directory c JOIN party_directory s ON s.party_id = c.parent_id
WHERE c.party_id = ANY($1::uuid[]) AND c.kind = 'community' AND s.kind = 'street' AND s.active
"""


async def audience(conn: asyncpg.Connection, item: Item) -> list[str]:
    """Everyone who may hear of the item now (see the module's note), by subject."""
    if item.item_kind == "need":
        home = [item.party_id]
    else:
        pairs = await conn.fetchval(
            "SELECT paired_community_ids FROM party_directory WHERE party_id = $1 AND active",
            item.party_id,
        )
        home = list(pairs or [])
    streets = [r["party_id"] for r in await conn.fetch(_STREETS, home)]
    if not streets:
        return []
    communities = [
        r["party_id"]
        for r in await conn.fetch(
            """SELECT party_id FROM party_directory
               WHERE parent_id = ANY($1::uuid[]) AND kind = 'community' AND active""",
            streets,
        )
    ]
    if item.item_kind == "need":
        told_communities: list[UUID] = []
        seen_by = {
            "public": communities,
            "paired_units": [item.party_id],
        }.get(item.visibility, [])
        units = [
            r["party_id"]
            for r in await conn.fetch(
                """SELECT party_id FROM party_directory
                   WHERE kind = 'unit' AND active AND paired_community_ids && $1::uuid[]""",
                seen_by,
            )
        ]
    else:
        served = set(item.community_ids)
        told_communities = [c for c in communities if not served or c in served]
        units = []
    rows = await conn.fetch(
        """SELECT DISTINCT subject FROM grants WHERE active AND (
               (role = 'street_admin' AND party_id = ANY($1::uuid[]))
               OR (role = 'community_admin' AND party_id = ANY($2::uuid[]))
               OR (role = 'unit_admin' AND party_id = ANY($3::uuid[])))
           AND party_id <> $4
           ORDER BY subject""",
        streets, told_communities, [u for u in units if u != item.party_id], item.party_id,
    )  # fmt: skip
    return [r["subject"] for r in rows]


async def still_visible(
    conn: asyncpg.Connection, item_id: UUID, subject: str, today: date
) -> str | None:
    """None when the item is still open, current and visible to `subject`; else why not."""
    item = await get(conn, item_id)
    if item is None:
        return "no longer known"
    if not item.open:
        return f"the {item.item_kind} was withdrawn or claimed before the digest went out"
    if item.available_until is not None and item.available_until < today:
        return f"the {item.item_kind} ended on {item.available_until} before the digest went out"
    if subject not in await audience(conn, item):
        return f"the {item.item_kind} is no longer visible to the person"
    return None
