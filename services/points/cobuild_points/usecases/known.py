"""What points must know before it applies an event naming it (hardening issue, "Forged
events"): the commitment of a `commitment.fulfilled` (heard of from `commitment.opened`) and
the member of a `member.scored` (points owns members). An event naming one it does not know
waits pending (`cobuild_kit.pending.Awaiting`), and goes to the DLQ if it never comes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
from cobuild_kit.pending import Awaiting

from cobuild_points.store import commitments, members


async def learn_commitments(conn: asyncpg.Connection, opened: list[tuple[UUID, datetime]]) -> None:
    if opened:
        await commitments.learn(conn, opened)


async def require_commitments(conn: asyncpg.Connection, commitment_ids: list[UUID]) -> None:
    """Raises `Awaiting("commitment", id)` for the first of them points never heard of."""
    found = await commitments.known(conn, list(set(commitment_ids)))
    for cid in commitment_ids:
        if cid not in found:
            raise Awaiting("commitment", cid, f"no commitment.opened for commitment {cid}")


async def require_members(conn: asyncpg.Connection, member_ids: list[UUID]) -> None:
    """Raises `Awaiting("member", id)` for the first of them not registered here."""
    found = await members.placements(conn, list(set(member_ids)))
    for mid in member_ids:
        if mid not in found:
            raise Awaiting("member", mid, f"member {mid} is not registered in points")
