"""Read models learnt from events: who holds which role for which party (grant.*), each
commitment's parties, title and members, each agreement's parties, each whistle's raiser,
each activity's title and start."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import asyncpg
from cobuild_contracts import Role

from cobuild_notifications.domain.decisions import ActivityView, CommitmentView


async def grant_added(
    conn: asyncpg.Connection, grant_id: UUID, subject: str, role: Role, party_id: UUID,
    at: datetime,
) -> None:  # fmt: skip
    # A revocation already recorded wins (it can only come after the grant).
    await conn.execute(
        """INSERT INTO grants (grant_id, subject, role, party_id, active, changed_at)
           VALUES ($1, $2, $3, $4, true, $5) ON CONFLICT (grant_id) DO NOTHING""",
        grant_id, subject, role.value, party_id, at,
    )  # fmt: skip


async def grant_revoked(
    conn: asyncpg.Connection, grant_id: UUID, subject: str, role: Role, party_id: UUID,
    at: datetime,
) -> None:  # fmt: skip
    await conn.execute(
        """INSERT INTO grants (grant_id, subject, role, party_id, active, changed_at)
           VALUES ($1, $2, $3, $4, false, $5)
           ON CONFLICT (grant_id) DO UPDATE SET active = false, changed_at = EXCLUDED.changed_at""",
        grant_id, subject, role.value, party_id, at,
    )  # fmt: skip


async def holders(conn: asyncpg.Connection, party_id: UUID, roles: Iterable[Role]) -> list[str]:
    """Subjects with an active grant of one of `roles` for the party."""
    rows = await conn.fetch(
        """SELECT DISTINCT subject FROM grants
           WHERE party_id = $1 AND role = ANY($2::text[]) AND active ORDER BY subject""",
        party_id, [r.value for r in roles],
    )  # fmt: skip
    return [r["subject"] for r in rows]


async def member_subjects(conn: asyncpg.Connection, member_ids: Iterable[UUID]) -> list[str]:
    rows = await conn.fetch(
        """SELECT DISTINCT subject FROM grants
           WHERE party_id = ANY($1::uuid[]) AND role = 'member' AND active ORDER BY subject""",
        list(member_ids),
    )
    return [r["subject"] for r in rows]


async def commitment_opened(conn: asyncpg.Connection, c: CommitmentView) -> None:
    await conn.execute(
        """INSERT INTO commitments (commitment_id, agreement_id, obligor_party_id,
               beneficiary_party_id, title, deadline)
           VALUES ($1, $2, $3, $4, $5, $6::text::date) ON CONFLICT (commitment_id) DO NOTHING""",
        c.commitment_id, c.agreement_id, c.obligor_party_id, c.beneficiary_party_id, c.title,
        c.deadline,
    )  # fmt: skip


async def members_assigned(
    conn: asyncpg.Connection, commitment_id: UUID, member_ids: Iterable[UUID]
) -> None:
    await conn.execute(
        """INSERT INTO commitment_members (commitment_id, member_id)
           SELECT $1, m FROM unnest($2::uuid[]) AS m ON CONFLICT DO NOTHING""",
        commitment_id, list(member_ids),
    )  # fmt: skip


async def commitment(conn: asyncpg.Connection, commitment_id: UUID) -> CommitmentView | None:
    row = await conn.fetchrow(
        """SELECT c.*, c.deadline::text AS day,
                  coalesce(array_agg(m.member_id ORDER BY m.member_id)
                           FILTER (WHERE m.member_id IS NOT NULL), '{}') AS members
           FROM commitments c LEFT JOIN commitment_members m USING (commitment_id)
           WHERE c.commitment_id = $1 GROUP BY c.commitment_id""",
        commitment_id,
    )
    if row is None:
        return None
    return CommitmentView(
        commitment_id=row["commitment_id"], agreement_id=row["agreement_id"],
        obligor_party_id=row["obligor_party_id"],
        beneficiary_party_id=row["beneficiary_party_id"], title=row["title"],
        deadline=row["day"], member_ids=tuple(row["members"]),
    )  # fmt: skip


async def agreement_parties(
    conn: asyncpg.Connection, agreement_id: UUID, community_id: UUID, unit_id: UUID
) -> None:
    await conn.execute(
        """INSERT INTO agreements (agreement_id, community_id, unit_id) VALUES ($1, $2, $3)
           ON CONFLICT (agreement_id) DO NOTHING""",
        agreement_id, community_id, unit_id,
    )  # fmt: skip


async def parties_of(conn: asyncpg.Connection, agreement_id: UUID) -> tuple[UUID, ...]:
    row = await conn.fetchrow(
        "SELECT community_id, unit_id FROM agreements WHERE agreement_id = $1", agreement_id
    )
    return () if row is None else (row["community_id"], row["unit_id"])


async def whistle_raised(conn: asyncpg.Connection, whistle_id: UUID, raiser: UUID) -> None:
    await conn.execute(
        """INSERT INTO whistles (whistle_id, raiser_party_id) VALUES ($1, $2)
           ON CONFLICT (whistle_id) DO NOTHING""",
        whistle_id, raiser,
    )  # fmt: skip


async def raiser_of(conn: asyncpg.Connection, whistle_id: UUID) -> UUID | None:
    value = await conn.fetchval(
        "SELECT raiser_party_id FROM whistles WHERE whistle_id = $1", whistle_id
    )
    return value if isinstance(value, UUID) else None


async def objection_filed(conn: asyncpg.Connection, objection_id: UUID, filed_by: str) -> None:
    await conn.execute(
        """INSERT INTO objections (objection_id, filed_by) VALUES ($1, $2)
           ON CONFLICT (objection_id) DO NOTHING""",
        objection_id,
        filed_by,
    )


async def filer_of(conn: asyncpg.Connection, objection_id: UUID) -> str | None:
    value = await conn.fetchval(
        "SELECT filed_by FROM objections WHERE objection_id = $1", objection_id
    )
    return value if isinstance(value, str) else None


async def activity_published(conn: asyncpg.Connection, a: ActivityView) -> None:
    await conn.execute(
        """INSERT INTO activities (activity_id, community_id, title, starts_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT (activity_id) DO NOTHING""",
        a.activity_id, a.community_id, a.title, a.starts_at,
    )  # fmt: skip


async def activity(conn: asyncpg.Connection, activity_id: UUID) -> ActivityView | None:
    row = await conn.fetchrow("SELECT * FROM activities WHERE activity_id = $1", activity_id)
    if row is None:
        return None
    return ActivityView(
        activity_id=row["activity_id"], community_id=row["community_id"], title=row["title"],
        starts_at=row["starts_at"],
    )  # fmt: skip
