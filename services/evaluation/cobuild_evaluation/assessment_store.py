"""Assessment inputs loaded in bulk, and published results stored and emitted in batches."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from cobuild_evaluation import ledger_store
from cobuild_evaluation.domain.assessment import MemberInput, Outcome, Scored, UnitInput
from cobuild_evaluation.domain.policy import Policy


async def district_communities(conn: asyncpg.Connection, district_id: UUID) -> dict[UUID, UUID]:
    """community id → street id, for the district's communities."""
    rows = await conn.fetch(
        """SELECT c.party_id AS community_id, s.party_id AS street_id
           FROM party_directory c JOIN party_directory s ON c.parent_id = s.party_id
           WHERE s.parent_id = $1 AND s.kind = 'street' AND c.kind = 'community'""",
        district_id,
    )
    return {r["community_id"]: r["street_id"] for r in rows}


async def load_members(
    conn: asyncpg.Connection, year: int, communities: dict[UUID, UUID]
) -> list[MemberInput]:
    """Members who reported by the year's end and had not left before it, plus anyone who
    earned points in the year; placed where they earned their latest points."""
    rows = await conn.fetch(
        """WITH ratings AS (
               SELECT subject_id, avg(score) AS rating FROM evaluations
               WHERE subject_kind = 'member' AND evaluator_kind = 'community' AND year = $1
               GROUP BY subject_id)
           SELECT m.member_id,
                  COALESCE(p.community_id, m.community_id) AS community_id,
                  COALESCE(p.unit_id, m.unit_id) AS unit_id,
                  COALESCE(p.total, 0) AS points, r.rating
           FROM (SELECT member_id, community_id, unit_id FROM members
                 WHERE reported_on <= $2 AND (left_on IS NULL OR left_on > $2)
                 UNION
                 SELECT member_id, community_id, unit_id FROM member_points WHERE year = $1) m
           LEFT JOIN member_points p ON p.member_id = m.member_id AND p.year = $1
           LEFT JOIN ratings r ON r.subject_id = m.member_id""",
        year,
        date(year, 12, 31),
    )
    seen: dict[UUID, MemberInput] = {}
    for r in rows:
        community = r["community_id"]
        if community not in communities or r["member_id"] in seen:
            continue
        seen[r["member_id"]] = MemberInput(
            member_id=str(r["member_id"]),
            community_id=str(community),
            street_id=str(communities[community]),
            unit_id=str(r["unit_id"]),
            points=Decimal(r["points"]),
            community_rating=None if r["rating"] is None else Decimal(r["rating"]),
        )
    return list(seen.values())


async def load_units(
    conn: asyncpg.Connection,
    year: int,
    district_id: UUID,
    communities: dict[UUID, UUID],
    policy: Policy,
) -> list[UnitInput]:
    """The district's units and those with commitments in its communities."""
    ids = [
        r["id"]
        for r in await conn.fetch(
            """SELECT party_id AS id FROM party_directory WHERE kind = 'unit' AND parent_id = $1
               UNION SELECT unit_id FROM ledger_agreements WHERE community_id = ANY($2)""",
            district_id,
            list(communities),
        )
    ]
    figs = await ledger_store.figures_by_id(conn, "unit", ids, date(year, 12, 31))
    evals = await conn.fetch(
        """SELECT c.unit_id, e.evaluator_kind, avg(COALESCE(e.score, e.rating)) AS mean
           FROM evaluations e
           JOIN (SELECT commitment_id AS subject_id, unit_id FROM ledger_commitments
                 UNION SELECT agreement_id, unit_id FROM agreements) c ON c.subject_id = e.subject_id
           WHERE e.subject_kind IN ('commitment', 'agreement') AND e.year = $1
             AND c.unit_id = ANY($2)
           GROUP BY c.unit_id, e.evaluator_kind""",
        year,
        ids,
    )
    means = {(r["unit_id"], r["evaluator_kind"]): Decimal(r["mean"]) for r in evals}
    fkey = "fulfilment_rate" if policy.fulfilment_basis == "count" else "fulfilment_rate_fen"
    okey = "on_time_rate" if policy.on_time_basis == "count" else "on_time_rate_fen"
    out = []
    for uid in ids:
        rates = figs[uid].rates()
        out.append(
            UnitInput(
                unit_id=str(uid),
                fulfilment_rate=rates[fkey],
                on_time_rate=rates[okey],
                resident_mean=means.get((uid, "resident")),
                expert_mean=means.get((uid, "expert")),
            )
        )
    return out


# --- publication ----------------------------------------------------------------------


def result_records(outcome: Outcome, assessment_id: UUID) -> list[tuple[Any, ...]]:
    return result_records_of(outcome.members, "member", assessment_id) + result_records_of(
        outcome.units, "unit", assessment_id
    )


def result_records_of(items: list[Scored], kind: str, assessment_id: UUID) -> list[tuple[Any, ...]]:
    return [
        (
            assessment_id,
            kind,
            UUID(s.subject_id),
            UUID(s.community_id) if s.community_id else None,
            UUID(s.street_id) if s.street_id else None,
            UUID(s.unit_id) if s.unit_id else None,
            s.score,
            s.grade.value,
            {k: format(v, "f") for k, v in sorted(s.components.items())},
            s.ranks.get("community"),
            s.ranks.get("street"),
            s.ranks["district"],
        )
        for s in items
    ]


RESULT_COLUMNS = [
    "assessment_id",
    "subject_kind",
    "subject_id",
    "community_id",
    "street_id",
    "unit_id",
    "score",
    "grade",
    "components",
    "rank_community",
    "rank_street",
    "rank_district",
]
