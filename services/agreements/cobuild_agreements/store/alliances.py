"""Alliances, their member stints and rotation orders, joint meetings and their decisions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts import CommitmentItem, PartyKind
from cobuild_contracts.enums import RotationMode
from cobuild_kit.errors import NotFound

from cobuild_agreements.domain.alliances import Membership, Order, Rotation, Stint
from cobuild_agreements.domain.directory import Party
from cobuild_agreements.store.paging import TOTAL, page

# --- alliances ---------------------------------------------------------------------------


async def create(
    conn: asyncpg.Connection,
    *,
    alliance_id: UUID,
    host_party_id: UUID,
    name: str,
    formed_on: date,
    mode: RotationMode,
    period_months: int | None,
    by: str,
    at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO alliance (alliance_id, host_party_id, name, formed_on, mode,
               period_months, formed_by, formed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        alliance_id,
        host_party_id,
        name,
        formed_on,
        mode.value,
        period_months,
        by,
        at,
    )


async def load(
    conn: asyncpg.Connection, alliance_id: UUID, *, lock: bool = False, field: str | None = None
) -> asyncpg.Record:
    """The alliance row with its host's kind and parent; `lock` holds it until the
    transaction ends, so membership changes and meetings of one alliance take turns."""
    row = await conn.fetchrow(
        """SELECT a.*, p.kind AS host_kind, p.parent_id AS host_parent_id
           FROM alliance a JOIN party p ON p.party_id = a.host_party_id
           WHERE a.alliance_id = $1"""
        + (" FOR UPDATE OF a" if lock else ""),
        alliance_id,
    )
    if row is None:
        raise NotFound(f"alliance {alliance_id} does not exist", field=field)
    return row


_LISTED = f"""SELECT a.*, p.kind AS host_kind, p.parent_id AS host_parent_id, {TOTAL}
    FROM alliance a JOIN party p ON p.party_id = a.host_party_id"""


async def of_host(
    conn: asyncpg.Connection, host_ids: list[UUID], *, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """Alliances hosted by any of `host_ids`, newest first."""
    return await page(
        conn,
        _LISTED + " WHERE a.host_party_id = ANY($1) ORDER BY a.formed_at DESC, a.alliance_id",
        host_ids,
        limit=limit,
        offset=offset,
    )


async def of_unit(
    conn: asyncpg.Connection, unit_id: UUID, *, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """Alliances the unit is or was a member of, newest first."""
    return await page(
        conn,
        _LISTED
        + """ WHERE a.alliance_id IN (SELECT alliance_id FROM alliance_member WHERE unit_id = $1)
              ORDER BY a.formed_at DESC, a.alliance_id""",
        unit_id,
        limit=limit,
        offset=offset,
    )


# --- members and rotation ------------------------------------------------------------------


async def add_member(
    conn: asyncpg.Connection, alliance_id: UUID, unit_id: UUID, joined_on: date, at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO alliance_member (alliance_id, unit_id, joined_on, recorded_at)
           VALUES ($1, $2, $3, $4)""",
        alliance_id,
        unit_id,
        joined_on,
        at,
    )


async def end_stint(
    conn: asyncpg.Connection, alliance_id: UUID, stint: Stint, left_on: date, at: datetime
) -> None:
    await conn.execute(
        """UPDATE alliance_member SET left_on = $4, left_recorded_at = $5
           WHERE alliance_id = $1 AND unit_id = $2 AND joined_on = $3""",
        alliance_id,
        stint.unit_id,
        stint.joined_on,
        left_on,
        at,
    )


async def stints(conn: asyncpg.Connection, alliance_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT unit_id, joined_on, left_on, recorded_at, left_recorded_at
           FROM alliance_member WHERE alliance_id = $1 ORDER BY joined_on, unit_id""",
        alliance_id,
    )
    return rows


async def membership(conn: asyncpg.Connection, alliance_id: UUID) -> Membership:
    return Membership(
        tuple(
            Stint(r["unit_id"], r["joined_on"], r["left_on"])
            for r in await stints(conn, alliance_id)
        )
    )


async def add_order(
    conn: asyncpg.Connection,
    alliance_id: UUID,
    order: Order,
    by: str,
    at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO alliance_rotation (alliance_id, version, effective_from, unit_ids,
               set_by, set_at)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        alliance_id,
        order.version,
        order.effective_from,
        list(order.units),
        by,
        at,
    )


async def orders(conn: asyncpg.Connection, alliance_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT version, effective_from, unit_ids, set_by, set_at FROM alliance_rotation
           WHERE alliance_id = $1 ORDER BY version""",
        alliance_id,
    )
    return rows


async def rotation(conn: asyncpg.Connection, row: asyncpg.Record) -> Rotation:
    """The alliance's rotation: its mode, every order and the membership history."""
    return Rotation(
        mode=RotationMode(row["mode"]),
        period_months=row["period_months"],
        orders=tuple(
            Order(r["version"], r["effective_from"], tuple(r["unit_ids"]))
            for r in await orders(conn, row["alliance_id"])
        ),
        membership=await membership(conn, row["alliance_id"]),
    )


# --- meetings and decisions ------------------------------------------------------------------


async def last_meeting(conn: asyncpg.Connection, alliance_id: UUID) -> asyncpg.Record | None:
    """The latest meeting recorded (by number): its number, date and chair."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT meeting_id, number, held_on, chair_unit_id FROM meeting
           WHERE alliance_id = $1 ORDER BY number DESC LIMIT 1""",
        alliance_id,
    )
    return row


async def add_meeting(conn: asyncpg.Connection, **m: Any) -> None:
    await conn.execute(
        """INSERT INTO meeting (meeting_id, alliance_id, number, held_on, title, place,
               chair_unit_id, present_unit_ids, agenda, minutes, recorded_by, recorded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
        m["meeting_id"],
        m["alliance_id"],
        m["number"],
        m["held_on"],
        m["title"],
        m["place"],
        m["chair_unit_id"],
        m["present_unit_ids"],
        m["agenda"],
        m["minutes"],
        m["recorded_by"],
        m["recorded_at"],
    )


async def add_decision(
    conn: asyncpg.Connection,
    *,
    decision_id: UUID,
    meeting_id: UUID,
    alliance_id: UUID,
    number: int,
    agreement_id: UUID,
    item: CommitmentItem,
    at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO decision (decision_id, meeting_id, alliance_id, number,
               responsible_unit_id, beneficiary_community_id, agreement_id, commitment_id,
               item, made_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        decision_id,
        meeting_id,
        alliance_id,
        number,
        item.obligor_party_id,
        item.beneficiary_party_id,
        agreement_id,
        item.commitment_id,
        item.model_dump(mode="json"),
        at,
    )


async def link_agreement(
    conn: asyncpg.Connection, agreement_id: UUID, meeting_id: UUID, decision_id: UUID
) -> None:
    await conn.execute(
        "UPDATE agreement SET meeting_id = $2, decision_id = $3 WHERE agreement_id = $1",
        agreement_id,
        meeting_id,
        decision_id,
    )


async def meeting(
    conn: asyncpg.Connection, meeting_id: UUID, field: str | None = None
) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM meeting WHERE meeting_id = $1", meeting_id)
    if row is None:
        raise NotFound(f"meeting {meeting_id} does not exist", field=field)
    return row


async def meetings(
    conn: asyncpg.Connection, alliance_id: UUID, *, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """The alliance's meetings, latest first, with their number of decisions."""
    return await page(
        conn,
        f"""SELECT m.*, (SELECT count(*) FROM decision d WHERE d.meeting_id = m.meeting_id)
                   AS decision_count, {TOTAL}
            FROM meeting m WHERE m.alliance_id = $1 ORDER BY m.number DESC""",
        alliance_id,
        limit=limit,
        offset=offset,
    )


async def chairs(conn: asyncpg.Connection, alliance_id: UUID) -> list[asyncpg.Record]:
    """Who chaired which meeting, in order: the rotation's history."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT meeting_id, number, held_on, chair_unit_id FROM meeting
           WHERE alliance_id = $1 ORDER BY number""",
        alliance_id,
    )
    return rows


_DECISIONS = f"""SELECT d.decision_id, d.meeting_id, d.alliance_id, d.number, m.number AS
        meeting_number, m.held_on, d.agreement_id, d.commitment_id, d.item, d.made_at,
        a.state AS agreement_state, c.cancelled_at, {TOTAL}
    FROM decision d JOIN meeting m USING (meeting_id)
    JOIN agreement a ON a.agreement_id = d.agreement_id
    JOIN commitment c ON c.commitment_id = d.commitment_id"""


async def decisions_of_meeting(conn: asyncpg.Connection, meeting_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        _DECISIONS + " WHERE d.meeting_id = $1 ORDER BY d.number", meeting_id
    )
    return rows


async def decisions(
    conn: asyncpg.Connection, alliance_id: UUID, *, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """The alliance's decisions, latest meeting first."""
    return await page(
        conn,
        _DECISIONS + " WHERE d.alliance_id = $1 ORDER BY m.number DESC, d.number",
        alliance_id,
        limit=limit,
        offset=offset,
    )


async def hosts_for(conn: asyncpg.Connection, place: Party) -> list[UUID]:
    """The hosts whose alliances concern a place: a community's own and its street's; a
    street's own and its communities'; a district's streets and their communities."""
    if place.kind is PartyKind.COMMUNITY:
        return [place.party_id] + ([place.parent_id] if place.parent_id else [])
    rows = await conn.fetch(
        """WITH RECURSIVE down(id, kind) AS (
               SELECT party_id, kind FROM party WHERE party_id = $1
               UNION
               SELECT p.party_id, p.kind FROM party p JOIN down ON p.parent_id = down.id
               WHERE p.kind IN ('street', 'community')
           ) SELECT id FROM down WHERE kind IN ('street', 'community')""",
        place.party_id,
    )
    return [r["id"] for r in rows]
