"""Evaluations and their per-subject aggregates (kept per bucket, updated on each one)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_contracts.enums import EvaluatorKind, SubjectKind
from cobuild_contracts.events.evaluation import EvaluationSubmitted
from cobuild_contracts.ids import new_event_id
from cobuild_kit.clock import business_date
from cobuild_kit.service import UnitOfWork

from cobuild_evaluation.domain.evaluation import Aggregate, aggregate, bucket


async def submit(
    uow: UnitOfWork,
    *,
    subject_kind: SubjectKind,
    subject_id: UUID,
    evaluator_kind: EvaluatorKind,
    evaluator: str | None,
    at: datetime,
    rating: int | None = None,
    score: Decimal | None = None,
    criteria: dict[str, int] | None = None,
    comment: str = "",
    year: int | None = None,
) -> EvaluationSubmitted:
    """Store one evaluation, move its subject's aggregate and emit evaluation.submitted."""
    day = business_date(at)
    event = EvaluationSubmitted(
        evaluation_id=new_event_id(),
        subject_kind=subject_kind,
        subject_id=subject_id,
        evaluator_kind=evaluator_kind,
        rating=rating,
        score=score,
        criteria=criteria or {},
        comment=comment,
        business_date=day,
        submitted_at=at,
    )
    await uow.conn.execute(
        """INSERT INTO evaluations (evaluation_id, subject_kind, subject_id, evaluator_kind, evaluator,
               rating, score, criteria, comment, year, business_day, submitted_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
        event.evaluation_id,
        subject_kind.value,
        subject_id,
        evaluator_kind.value,
        evaluator,
        rating,
        score,
        event.criteria,
        comment,
        year or day.year,
        day,
        at,
    )
    value = Decimal(rating) if rating is not None else score
    await uow.conn.execute(
        """INSERT INTO evaluation_buckets (subject_kind, subject_id, evaluator_kind, bucket, n, total)
           VALUES ($1, $2, $3, $4, 1, $5)
           ON CONFLICT (subject_kind, subject_id, evaluator_kind, bucket)
           DO UPDATE SET n = evaluation_buckets.n + 1, total = evaluation_buckets.total + $5""",
        subject_kind.value,
        subject_id,
        evaluator_kind.value,
        bucket(rating, score),
        value,
    )
    await uow.emit(event)
    return event


async def aggregates(
    conn: asyncpg.Connection, subject_kind: str, subject_id: UUID
) -> dict[str, Any]:
    rows = await conn.fetch(
        """SELECT evaluator_kind, bucket, n, total FROM evaluation_buckets
           WHERE subject_kind = $1 AND subject_id = $2 ORDER BY evaluator_kind, bucket""",
        subject_kind,
        subject_id,
    )
    out: dict[str, Aggregate] = {}
    for kind in EvaluatorKind:
        mine = [
            (r["bucket"], int(r["n"]), Decimal(r["total"]))
            for r in rows
            if r["evaluator_kind"] == kind.value
        ]
        out[kind.value] = aggregate(mine)
    return {k: v.as_dict() for k, v in out.items()}
