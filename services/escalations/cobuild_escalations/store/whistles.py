"""The whistle rows, table `whistles`: raising, loading, saving a transition, and the lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts.enums import PartyKind
from cobuild_contracts.events.escalations import Level, ReceiverKind, Urgency

from cobuild_escalations.domain.whistle import Place, State, Whistle

COLUMNS = """whistle_id, title, description, category, urgency, place_id, place_kind,
community_id, street_id, district_id, raiser_party_id, raiser_level, raised_by, raised_at,
receiver_party_id, receiver_kind, routing_district_id, routing_version, respond_by,
respond_by_provisional, resolve_by, resolve_by_provisional, level, state, responded_at,
responded_by, who_comes, response_note, resolved_at, resolved_by, resolution_note,
resolution_evidence, closed_at, closed_by, response_missed_at, resolution_missed_at"""
_PLACE = ("place_id", "place_kind", "community_id", "street_id", "district_id")


def from_row(row: asyncpg.Record) -> Whistle:
    data = dict(row)
    place = Place(
        data.pop("place_id"),
        PartyKind(data.pop("place_kind")),
        data.pop("community_id"),
        data.pop("street_id"),
        data.pop("district_id"),
    )
    data.update(
        place=place,
        urgency=Urgency(data["urgency"]),
        raiser_level=Level(data["raiser_level"]),
        receiver_kind=ReceiverKind(data["receiver_kind"]),
        level=Level(data["level"]),
        state=State(data["state"]),
        resolution_evidence=tuple(data["resolution_evidence"]),
    )
    return Whistle(**data)


def _values(w: Whistle) -> dict[str, Any]:
    values: dict[str, Any] = {
        k: getattr(w, k) for k in Whistle.__dataclass_fields__ if k != "place"
    }
    values.update(
        place_id=w.place.place_id,
        place_kind=w.place.place_kind.value,
        community_id=w.place.community_id,
        street_id=w.place.street_id,
        district_id=w.place.district_id,
        urgency=w.urgency.value,
        raiser_level=w.raiser_level.value,
        receiver_kind=w.receiver_kind.value,
        level=w.level.value,
        state=w.state.value,
        resolution_evidence=list(w.resolution_evidence),
    )
    return values


_NAMES = [c.strip() for c in COLUMNS.split(",")]


async def insert(conn: asyncpg.Connection, w: Whistle) -> None:
    values = _values(w)
    placeholders = ", ".join(f"${i}" for i in range(1, len(_NAMES) + 1))
    await conn.execute(
        f"INSERT INTO whistles ({COLUMNS}) VALUES ({placeholders})",
        *(values[n] for n in _NAMES),
    )


# What a transition may change; the one-time flags are `store.escalation`'s.
_MUTABLE = (
    "receiver_party_id", "receiver_kind", "state", "responded_at", "responded_by", "who_comes",
    "response_note", "resolved_at", "resolved_by", "resolution_note", "resolution_evidence",
    "closed_at", "closed_by",
)  # fmt: skip


async def save(conn: asyncpg.Connection, w: Whistle) -> None:
    values = _values(w)
    sets = ", ".join(f"{n} = ${i}" for i, n in enumerate(_MUTABLE, start=2))
    await conn.execute(
        f"UPDATE whistles SET {sets}, updated_at = now() WHERE whistle_id = $1",
        w.whistle_id,
        *(values[n] for n in _MUTABLE),
    )


async def load(conn: asyncpg.Connection, whistle_id: UUID, *, lock: bool) -> Whistle | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM whistles WHERE whistle_id = $1{suffix}", whistle_id
    )
    return from_row(row) if row else None


@dataclass(frozen=True)
class Filters:
    """A list's choice: one of the boxes (by raiser, by receiver, or the places below a
    supervisor), narrowed by state."""

    raised_by_party: UUID | None = None
    received_by_party: UUID | None = None
    street_id: UUID | None = None  # a street admin's box: every matter in the street
    district_id: UUID | None = None
    states: tuple[State, ...] | None = None


# Time left first: what is due soonest (responding, then resolving), then the rest by age.
_NEXT_DUE = """CASE state WHEN 'routed' THEN respond_by WHEN 'responded' THEN resolve_by END"""


async def search(
    conn: asyncpg.Connection, f: Filters, *, limit: int, offset: int
) -> tuple[list[Whistle], int]:
    clauses: list[str] = []
    args: list[Any] = []

    def add(sql: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql.replace("?", f"${len(args)}"))

    if f.raised_by_party is not None:
        add("raiser_party_id = ?", f.raised_by_party)
    if f.received_by_party is not None:
        add("receiver_party_id = ?", f.received_by_party)
    if f.street_id is not None:
        add("street_id = ?", f.street_id)
    if f.district_id is not None:
        add("district_id = ?", f.district_id)
    if f.states is not None:
        add("state = ANY(?::text[])", [s.value for s in f.states])
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    n = len(args)
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM whistles{where}
            ORDER BY {_NEXT_DUE} NULLS LAST, raised_at, whistle_id
            LIMIT ${n + 1} OFFSET ${n + 2}""",
        *args,
        limit,
        offset,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM whistles{where}", *args)
    return [from_row(r) for r in rows], int(total)
