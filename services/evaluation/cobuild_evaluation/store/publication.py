"""The publication's rows (issue 35): state and objection deadlines of a publication, the
subjects' later windows, objections and their files, corrected inputs, and the audit trail."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg


async def set_publicised(
    conn: asyncpg.Connection,
    assessment_id: UUID,
    deadline: datetime,
    provisional: bool,
    quota: Decimal | None,
    upholds: UUID | None,
) -> None:
    await conn.execute(
        """UPDATE assessments SET state = 'publicised', objection_deadline = $2,
               deadline_provisional = $3, excellent_quota = $4, upholds = $5
           WHERE assessment_id = $1""",
        assessment_id,
        deadline,
        provisional,
        quota,
        upholds,
    )


async def set_final(conn: asyncpg.Connection, assessment_id: UUID, by: str, at: datetime) -> None:
    await conn.execute(
        """UPDATE assessments SET state = 'final', finalised_by = $2, finalised_at = $3
           WHERE assessment_id = $1""",
        assessment_id,
        by,
        at,
    )


async def windows(conn: asyncpg.Connection, assessment_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT subject_kind, subject_id, deadline FROM objection_windows WHERE assessment_id = $1",
        assessment_id,
    )
    return rows


async def window_of(
    conn: asyncpg.Connection, assessment_id: UUID, kind: str, subject_id: UUID
) -> datetime | None:
    value: datetime | None = await conn.fetchval(
        """SELECT deadline FROM objection_windows
           WHERE assessment_id = $1 AND subject_kind = $2 AND subject_id = $3""",
        assessment_id,
        kind,
        subject_id,
    )
    return value


async def add_windows(
    conn: asyncpg.Connection, assessment_id: UUID, rows: list[tuple[str, UUID, datetime]]
) -> None:
    """Windows of subjects (kind, id, deadline); a later deadline replaces an earlier one."""
    await conn.executemany(
        """INSERT INTO objection_windows (assessment_id, subject_kind, subject_id, deadline)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (assessment_id, subject_kind, subject_id)
           DO UPDATE SET deadline = greatest(objection_windows.deadline, EXCLUDED.deadline)""",
        [(assessment_id, k, s, d) for k, s, d in rows],
    )


async def regraded(conn: asyncpg.Connection, before: UUID, after: UUID) -> list[asyncpg.Record]:
    """Subjects whose grade differs between two publications (or that are in one only):
    subject_kind, subject_id, grade_before, grade_after."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT COALESCE(a.subject_kind, b.subject_kind) AS subject_kind,
                  COALESCE(a.subject_id, b.subject_id) AS subject_id,
                  b.grade AS grade_before, a.grade AS grade_after
           FROM (SELECT * FROM assessment_results WHERE assessment_id = $2) a
           FULL JOIN (SELECT * FROM assessment_results WHERE assessment_id = $1) b
             ON a.subject_kind = b.subject_kind AND a.subject_id = b.subject_id
           WHERE a.grade IS DISTINCT FROM b.grade
           ORDER BY 1, 2""",
        before,
        after,
    )
    return rows


async def result_of(
    conn: asyncpg.Connection, assessment_id: UUID, kind: str, subject_id: UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT * FROM assessment_results
           WHERE assessment_id = $1 AND subject_kind = $2 AND subject_id = $3""",
        assessment_id,
        kind,
        subject_id,
    )


async def current_of_subject(
    conn: asyncpg.Connection, kind: str, subject_id: UUID, year: int
) -> asyncpg.Record | None:
    """The current publication of `year` that scored this subject (a member or unit is
    scored in one district)."""
    return await conn.fetchrow(
        """SELECT a.* FROM assessments a JOIN assessment_results r USING (assessment_id)
           WHERE a.current AND a.year = $3 AND r.subject_kind = $1 AND r.subject_id = $2
           LIMIT 1""",
        kind,
        subject_id,
        year,
    )


# --- objections ---------------------------------------------------------------------------


async def add_objection(conn: asyncpg.Connection, **row: Any) -> None:
    cols = ", ".join(row)
    marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await conn.execute(f"INSERT INTO objections ({cols}) VALUES ({marks})", *row.values())


async def add_file(conn: asyncpg.Connection, **row: Any) -> None:
    cols = ", ".join(row)
    marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await conn.execute(f"INSERT INTO objection_files ({cols}) VALUES ({marks})", *row.values())


async def objection(
    conn: asyncpg.Connection, objection_id: UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM objections WHERE objection_id = $1" + (" FOR UPDATE" if lock else ""),
        objection_id,
    )


async def objections(
    conn: asyncpg.Connection,
    district_id: UUID,
    year: int,
    *,
    subject: tuple[str, UUID] | None = None,
) -> list[asyncpg.Record]:
    """The district-year's objections (or one subject's), newest first, with file counts."""
    where, args = "", [district_id, year]
    if subject is not None:
        where = "AND o.subject_kind = $3 AND o.subject_id = $4"
        args += list(subject)
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT o.*, (SELECT count(*) FROM objection_files f
                         WHERE f.objection_id = o.objection_id) AS files
            FROM objections o WHERE o.district_id = $1 AND o.year = $2 {where}
            ORDER BY o.filed_at DESC, o.objection_id""",
        *args,
    )
    return rows


async def open_count(conn: asyncpg.Connection, district_id: UUID, year: int) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM objections WHERE district_id = $1 AND year = $2 AND state = 'open'",
            district_id,
            year,
        )
    )


async def open_of_subject(conn: asyncpg.Connection, kind: str, subject_id: UUID, year: int) -> int:
    return int(
        await conn.fetchval(
            """SELECT count(*) FROM objections WHERE subject_kind = $1 AND subject_id = $2
               AND year = $3 AND state = 'open'""",
            kind,
            subject_id,
            year,
        )
    )


async def decide(
    conn: asyncpg.Connection,
    objection_id: UUID,
    *,
    state: str,
    by: str,
    at: datetime,
    reason: str,
    corrections: dict[str, str] | None,
    corrected_assessment_id: UUID | None,
) -> None:
    await conn.execute(
        """UPDATE objections SET state = $2, decided_by = $3, decided_at = $4,
               decision_reason = $5, corrections = $6, corrected_assessment_id = $7
           WHERE objection_id = $1""",
        objection_id,
        state,
        by,
        at,
        reason,
        corrections,
        corrected_assessment_id,
    )


async def files_of(conn: asyncpg.Connection, objection_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM objection_files WHERE objection_id = $1 ORDER BY added_at, file_id",
        objection_id,
    )
    return rows


async def file_of(conn: asyncpg.Connection, file_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM objection_files WHERE file_id = $1", file_id)


# --- corrected inputs -----------------------------------------------------------------------


async def correct(
    conn: asyncpg.Connection,
    district_id: UUID,
    year: int,
    kind: str,
    subject_id: UUID,
    values: dict[str, Decimal],
    objection_id: UUID,
) -> None:
    await conn.executemany(
        """INSERT INTO assessment_corrections
               (district_id, year, subject_kind, subject_id, component, value, objection_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (district_id, year, subject_kind, subject_id, component)
           DO UPDATE SET value = EXCLUDED.value, objection_id = EXCLUDED.objection_id""",
        [(district_id, year, kind, subject_id, c, v, objection_id) for c, v in values.items()],
    )


async def corrections(
    conn: asyncpg.Connection, district_id: UUID, year: int, kind: str
) -> dict[UUID, dict[str, Decimal]]:
    out: dict[UUID, dict[str, Decimal]] = {}
    for r in await conn.fetch(
        """SELECT subject_id, component, value FROM assessment_corrections
           WHERE district_id = $1 AND year = $2 AND subject_kind = $3""",
        district_id,
        year,
        kind,
    ):
        out.setdefault(r["subject_id"], {})[r["component"]] = r["value"]
    return out


async def apply_member_corrections(conn: asyncpg.Connection, district_id: UUID, year: int) -> None:
    """Corrected points and community ratings into the run's assess_members (the temp table
    of `store.assessments.gather_members`), before its pairs are read."""
    await conn.execute(
        """UPDATE assess_members a SET
               points = COALESCE(p.value, a.points), rating = COALESCE(r.value, a.rating)
           FROM (SELECT DISTINCT subject_id FROM assessment_corrections
                 WHERE district_id = $1 AND year = $2 AND subject_kind = 'member') s
           LEFT JOIN assessment_corrections p ON p.district_id = $1 AND p.year = $2
                AND p.subject_kind = 'member' AND p.subject_id = s.subject_id
                AND p.component = 'points'
           LEFT JOIN assessment_corrections r ON r.district_id = $1 AND r.year = $2
                AND r.subject_kind = 'member' AND r.subject_id = s.subject_id
                AND r.component = 'community_rating'
           WHERE a.member_id = s.subject_id""",
        district_id,
        year,
    )


# --- the audit trail ----------------------------------------------------------------------


async def audit(
    conn: asyncpg.Connection,
    *,
    district_id: UUID,
    year: int,
    assessment_id: UUID | None,
    action: str,
    actor: str,
    at: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO assessment_audit (district_id, year, assessment_id, action, actor, at, detail)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        district_id,
        year,
        assessment_id,
        action,
        actor,
        at,
        json.loads(json.dumps(detail or {}, default=str)),
    )


async def audit_trail(
    conn: asyncpg.Connection, district_id: UUID, year: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT assessment_id, action, actor, at, detail FROM assessment_audit
           WHERE district_id = $1 AND year = $2 ORDER BY entry_id""",
        district_id,
        year,
    )
    return rows
