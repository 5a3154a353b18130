"""Whistles as the escalations service's events tell them (`whistle_facts`, `whistle_steps`),
and each whistle's standing as of a date, for the rates (`domain.whistle_rates`)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

import asyncpg
from cobuild_kit.clock import business_date

from cobuild_evaluation.domain.whistle_rates import Standing


async def raised(
    conn: asyncpg.Connection,
    whistle_id: UUID,
    community_id: UUID | None,
    street_id: UUID,
    district_id: UUID,
    category: str,
    urgency: str,
    at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO whistle_facts (whistle_id, community_id, street_id, district_id,
               category, urgency, raised_at, raised_on)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (whistle_id) DO NOTHING""",
        whistle_id,
        community_id,
        street_id,
        district_id,
        category,
        urgency,
        at,
        business_date(at),
    )


async def known(conn: asyncpg.Connection, whistle_id: UUID) -> bool:
    return bool(
        await conn.fetchval("SELECT 1 FROM whistle_facts WHERE whistle_id = $1", whistle_id)
    )


async def limits(
    conn: asyncpg.Connection, whistle_id: UUID, respond_by: datetime, resolve_by: datetime
) -> None:
    """The limits routing set; a hand-on does not change them, so the first routing stays."""
    await conn.execute(
        """UPDATE whistle_facts SET respond_by = $2, respond_due_on = $3, resolve_by = $4,
               resolve_due_on = $5
           WHERE whistle_id = $1 AND respond_by IS NULL""",
        whistle_id,
        respond_by,
        business_date(respond_by),
        resolve_by,
        business_date(resolve_by),
    )


class Step(StrEnum):
    ROUTED = "routed"
    HANDED_ON = "handed_on"
    RESPONDED = "responded"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    RATED = "rated"


async def step(
    conn: asyncpg.Connection,
    event_id: UUID,
    whistle_id: UUID,
    kind: Step,
    at: datetime,
    *,
    party_id: UUID | None = None,
    within_limit: bool | None = None,
    satisfied: bool | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO whistle_steps (event_id, whistle_id, kind, at, day, party_id,
               within_limit, satisfied)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id) DO NOTHING""",
        event_id,
        whistle_id,
        kind.value,
        at,
        business_date(at),
        party_id,
        within_limit,
        satisfied,
    )


class Scope(StrEnum):
    DISTRICT = "district_id"
    STREET = "street_id"
    COMMUNITY = "community_id"
    RECEIVER = "receiver"  # whistles a department (or a level) held at some point


_STANDINGS = """
SELECT f.whistle_id, f.community_id, f.street_id, f.district_id,
       (SELECT s.party_id FROM whistle_steps s
         WHERE s.whistle_id = f.whistle_id AND s.kind IN ('routed', 'handed_on') AND s.day <= $1
         ORDER BY s.seq DESC LIMIT 1) AS receiver_id,
       coalesce(f.respond_due_on <= $1, false) AS response_due,
       coalesce(f.respond_due_on <= $1, false) AND EXISTS (
           SELECT 1 FROM whistle_steps s WHERE s.whistle_id = f.whistle_id
              AND s.kind = 'responded' AND s.within_limit AND s.day <= $1
       ) AS responded_within_limit,
       coalesce(f.resolve_due_on <= $1, false) AS resolution_due,
       coalesce(f.resolve_due_on <= $1, false) AND coalesce((
           SELECT s.kind = 'resolved' AND s.within_limit FROM whistle_steps s
            WHERE s.whistle_id = f.whistle_id AND s.kind IN ('resolved', 'reopened')
              AND s.day <= $1
            ORDER BY s.seq DESC LIMIT 1), false) AS resolved_within_limit,
       (SELECT count(*) FROM whistle_steps s
         WHERE s.whistle_id = f.whistle_id AND s.kind = 'rated' AND s.day <= $1) AS rated,
       (SELECT count(*) FROM whistle_steps s
         WHERE s.whistle_id = f.whistle_id AND s.kind = 'rated' AND s.satisfied
           AND s.day <= $1) AS satisfied
FROM whistle_facts f
WHERE f.raised_on <= $1 AND f.raised_on >= $2 AND {where}
ORDER BY f.raised_at, f.whistle_id
"""


async def standings(
    conn: asyncpg.Connection, scope: Scope, ids: list[UUID], as_of: date, raised_from: date
) -> list[Standing]:
    """Each whistle of the scope (any of `ids`) raised in [raised_from, as_of], as of
    `as_of`. For `Scope.RECEIVER` the whistles the parties ever held; the caller keeps
    those whose receiver as of the date is one of them."""
    if scope is Scope.RECEIVER:
        where = """f.whistle_id IN (SELECT whistle_id FROM whistle_steps
                                    WHERE party_id = ANY($3::uuid[]))"""
    else:
        where = f"f.{scope.value} = ANY($3::uuid[])"
    rows = await conn.fetch(_STANDINGS.format(where=where), as_of, raised_from, ids)
    found = [Standing(**dict(r)) for r in rows]
    if scope is Scope.RECEIVER:
        wanted = set(ids)
        found = [s for s in found if s.receiver_id in wanted]
    return found
