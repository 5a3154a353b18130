"""Evaluations and their per-subject aggregates (kept per bucket, moved by each one)."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import asyncpg
from cobuild_contracts.events.evaluation import EvaluationSubmitted


async def add(
    conn: asyncpg.Connection,
    event: EvaluationSubmitted,
    evaluator: str | None,
    year: int,
    flagged: bool = False,
) -> None:
    """Store the evaluation an event announces (a community rates a member once a year: a
    unique violation otherwise). A flagged one is kept but counts in no mean."""
    await conn.execute(
        """INSERT INTO evaluations (evaluation_id, subject_kind, subject_id, evaluator_kind, evaluator,
               rating, score, criteria, comment, year, business_day, submitted_at, flagged)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
        event.evaluation_id,
        event.subject_kind.value,
        event.subject_id,
        event.evaluator_kind.value,
        evaluator,
        event.rating,
        event.score,
        event.criteria,
        event.comment,
        year,
        event.business_date,
        event.submitted_at,
        flagged,
    )


async def add_to_bucket(
    conn: asyncpg.Connection,
    subject_kind: str,
    subject_id: UUID,
    evaluator_kind: str,
    bucket: str,
    value: Decimal | None,
) -> None:
    await conn.execute(
        """INSERT INTO evaluation_buckets (subject_kind, subject_id, evaluator_kind, bucket, n, total)
           VALUES ($1, $2, $3, $4, 1, $5)
           ON CONFLICT (subject_kind, subject_id, evaluator_kind, bucket)
           DO UPDATE SET n = evaluation_buckets.n + 1, total = evaluation_buckets.total + $5""",
        subject_kind,
        subject_id,
        evaluator_kind,
        bucket,
        value,
    )


async def buckets(
    conn: asyncpg.Connection, subject_kind: str, subject_id: UUID
) -> list[asyncpg.Record]:
    """The subject's buckets: evaluator_kind, bucket, n, total."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT evaluator_kind, bucket, n, total FROM evaluation_buckets
           WHERE subject_kind = $1 AND subject_id = $2 ORDER BY evaluator_kind, bucket""",
        subject_kind,
        subject_id,
    )
    return rows


async def flagged_count(conn: asyncpg.Connection, subject_kind: str, subject_id: UUID) -> int:
    """How many of the subject's evaluations are flagged (left out of its aggregates)."""
    n: int = await conn.fetchval(
        """SELECT count(*) FROM evaluations
           WHERE subject_kind = $1 AND subject_id = $2 AND flagged""",
        subject_kind,
        subject_id,
    )
    return n
