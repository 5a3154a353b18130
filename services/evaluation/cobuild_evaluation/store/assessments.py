"""The year-end assessment's tables: its inputs read in bulk (members, points, ratings,
units), a run's working tables, published assessments and their results."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from asyncpg.cursor import Cursor

from cobuild_evaluation.domain.assessment import MemberInput, Outcome, Scored, UnitInput
from cobuild_evaluation.domain.policy import Policy
from cobuild_evaluation.domain.whistle_rates import WhistleFigures, grouped
from cobuild_evaluation.store import ledger as ledger_store
from cobuild_evaluation.store import publication
from cobuild_evaluation.store import whistles as whistles_store


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
             AND c.unit_id = ANY($2) AND NOT e.flagged
           GROUP BY c.unit_id, e.evaluator_kind""",
        year,
        ids,
    )
    means = {(r["unit_id"], r["evaluator_kind"]): Decimal(r["mean"]) for r in evals}
    fkey = "fulfilment_rate" if policy.fulfilment_basis == "count" else "fulfilment_rate_fen"
    okey = "on_time_rate" if policy.on_time_basis == "count" else "on_time_rate_fen"
    whistled = await _whistle_figures(conn, year, ids) if policy.weighs_whistles else {}
    out = []
    for uid in ids:
        rates = figs[uid].rates()
        w = whistled.get(uid)
        out.append(
            UnitInput(
                unit_id=str(uid),
                fulfilment_rate=rates[fkey],
                on_time_rate=rates[okey],
                resident_mean=means.get((uid, "resident")),
                expert_mean=means.get((uid, "expert")),
                whistle_response_rate=None if w is None else w.response_rate,
                whistle_completion_rate=None if w is None else w.completion_rate,
                whistle_satisfaction_rate=None if w is None else w.satisfaction_rate,
            )
        )
    return out


async def _whistle_figures(
    conn: asyncpg.Connection, year: int, units: list[UUID]
) -> dict[UUID, WhistleFigures]:
    """Each unit's whistles as the department holding them: those raised in the year, as of
    its 31 December (domain.whistle_rates)."""
    found = await whistles_store.standings(
        conn, whistles_store.Scope.RECEIVER, units, date(year, 12, 31), date(year, 1, 1)
    )
    return grouped(found, lambda s: s.receiver_id)


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


# --- a run's working tables (temporary, dropped at commit) ------------------------------

NO_RATING = Decimal(-1)  # ratings are 0..100: a join key for "unrated"

_MEMBERS = """
CREATE TEMP TABLE assess_members ON COMMIT DROP AS
SELECT DISTINCT ON (m.member_id) m.member_id,
       COALESCE(p.community_id, m.community_id) AS community_id,
       COALESCE(p.unit_id, m.unit_id) AS unit_id,
       COALESCE(p.total, 0)::numeric AS points, COALESCE(r.rating, -1) AS rating
FROM (SELECT member_id, community_id, unit_id FROM members
      WHERE reported_on <= $2 AND (left_on IS NULL OR left_on > $2)
      UNION
      SELECT member_id, community_id, unit_id FROM member_points WHERE year = $1) m
LEFT JOIN member_points p ON p.member_id = m.member_id AND p.year = $1
LEFT JOIN (SELECT subject_id, avg(score) AS rating FROM evaluations
           WHERE subject_kind = 'member' AND evaluator_kind = 'community' AND year = $1
           GROUP BY subject_id) r ON r.subject_id = m.member_id
WHERE COALESCE(p.community_id, m.community_id) = ANY($3::uuid[])
"""
_SCORES = "CREATE TEMP TABLE assess_scores (pair integer, points numeric, rating numeric, score numeric) ON COMMIT DROP"
_RANKED = """
CREATE TEMP TABLE assess_ranked ON COMMIT DROP AS
SELECT a.member_id, a.community_id, st.street_id, a.unit_id, s.pair, s.score,
       rank() OVER (PARTITION BY a.community_id ORDER BY s.score DESC) AS rank_community,
       rank() OVER (PARTITION BY st.street_id ORDER BY s.score DESC) AS rank_street,
       rank() OVER (ORDER BY s.score DESC) AS rank_district
FROM assess_members a
JOIN assess_scores s ON s.points = a.points AND s.rating = a.rating
JOIN unnest($1::uuid[], $2::uuid[]) AS st(community_id, street_id) ON st.community_id = a.community_id
"""
_LINES = """SELECT member_id::text, community_id::text, street_id::text, unit_id::text, pair,
                   rank_community, rank_street, rank_district
            FROM assess_ranked ORDER BY member_id"""
_SCORED = """SELECT member_id::text, community_id::text, unit_id::text, pair, rank_community
             FROM assess_ranked ORDER BY member_id"""


async def gather_members(
    conn: asyncpg.Connection,
    year: int,
    communities: dict[UUID, UUID],
    district_id: UUID | None = None,
) -> list[asyncpg.Record]:
    """The members' inputs into assess_members (as `load_members`: reported by the year's end
    and not left before it, or earning points in it; placed where they earned their latest
    points; NO_RATING when unrated); returns the distinct (points, rating) pairs."""
    await conn.execute(_MEMBERS, year, date(year, 12, 31), list(communities))
    if district_id is not None:  # an upheld objection's corrected inputs (issue 35)
        await publication.apply_member_corrections(conn, district_id, year)
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT DISTINCT points, rating FROM assess_members"
    )
    return rows


async def rank(
    conn: asyncpg.Connection,
    scores: list[tuple[int, Decimal, Decimal, Decimal]],
    communities: dict[UUID, UUID],
) -> None:
    """Each (pair, points, rating, score) into assess_scores, then every member's score and
    ranks (competition ranking) into assess_ranked."""
    await conn.execute(_SCORES)
    await conn.copy_records_to_table(
        "assess_scores", records=scores, columns=["pair", "points", "rating", "score"]
    )
    await conn.execute(_RANKED, list(communities), list(communities.values()))
    await conn.execute("ANALYZE assess_ranked")


async def members_per_pair(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """pair, n: how many ranked members have each (points, rating) pair."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT pair, count(*) AS n FROM assess_ranked GROUP BY pair"
    )
    return rows


async def members_per_unit(conn: asyncpg.Connection, passing: list[int]) -> list[asyncpg.Record]:
    """unit_id (text), n: its ranked members, p: those of them with a passing pair."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT unit_id::text AS unit_id, count(*) AS n,
                  count(*) FILTER (WHERE pair = ANY($1::int[])) AS p
           FROM assess_ranked GROUP BY unit_id""",
        passing,
    )
    return rows


async def ranked_lines(conn: asyncpg.Connection) -> Cursor:
    """The ranked members in subject order: member, community, street, unit (text), pair,
    and the ranks in community, street and district."""
    return await conn.cursor(_LINES)


async def ranked_scored(conn: asyncpg.Connection) -> Cursor:
    """The ranked members in subject order: member, community, unit (text), pair and the
    rank in the community (what member.scored carries)."""
    return await conn.cursor(_SCORED)


async def store_results(
    conn: asyncpg.Connection,
    assessment_id: UUID,
    pairs: list[tuple[int, str, str]],
    units: list[tuple[Any, ...]],
) -> None:
    """The ranked members' results, each with its pair's (pair, grade, components JSON), and
    the units' result records (`result_records_of`)."""
    await conn.execute(
        "CREATE TEMP TABLE assess_pairs (pair integer, grade text, components text) ON COMMIT DROP"
    )
    await conn.copy_records_to_table(
        "assess_pairs", records=pairs, columns=["pair", "grade", "components"]
    )
    await conn.execute(
        """INSERT INTO assessment_results (assessment_id, subject_kind, subject_id, community_id,
               street_id, unit_id, score, grade, components, rank_community, rank_street,
               rank_district)
           SELECT $1, 'member', r.member_id, r.community_id, r.street_id, r.unit_id, r.score,
                  p.grade, p.components::jsonb, r.rank_community, r.rank_street, r.rank_district
           FROM assess_ranked r JOIN assess_pairs p ON p.pair = r.pair""",
        assessment_id,
    )
    placeholders = ", ".join(f"${i}" for i in range(1, len(RESULT_COLUMNS) + 1))
    await conn.executemany(
        f"INSERT INTO assessment_results ({', '.join(RESULT_COLUMNS)}) VALUES ({placeholders})",
        units,
    )


# --- published assessments ------------------------------------------------------------


async def lock_district_year(conn: asyncpg.Connection, district_id: UUID, year: int) -> None:
    """One publisher per district-year at a time (until the transaction ends)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"assess:{district_id}:{year}")


async def published(conn: asyncpg.Connection, district_id: UUID, year: int) -> list[asyncpg.Record]:
    """assessment_id, policy_version and current of every publication of the district-year."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT assessment_id, policy_version, current FROM assessments WHERE district_id = $1 AND year = $2",
        district_id,
        year,
    )
    return rows


async def add(
    conn: asyncpg.Connection,
    *,
    assessment_id: UUID,
    district_id: UUID,
    year: int,
    policy_version: str,
    digest: str,
    totals: dict[str, Any],
    supersedes: UUID | None,
    reason: str | None,
    published_by: str,
    published_at: datetime,
    upholds: UUID | None = None,
) -> None:
    """A publication, current; the one it supersedes stops being current. `upholds` names
    the objection whose correction re-ran it (then under the same policy version)."""
    if supersedes is not None:
        await conn.execute(
            "UPDATE assessments SET current = false WHERE assessment_id = $1", supersedes
        )
    await conn.execute(
        """INSERT INTO assessments (assessment_id, district_id, year, policy_version, digest, totals,
               supersedes, reason, published_by, published_at, upholds)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
        assessment_id,
        district_id,
        year,
        policy_version,
        digest,
        totals,
        supersedes,
        reason,
        published_by,
        published_at,
        upholds,
    )


async def current(conn: asyncpg.Connection, district_id: UUID, year: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM assessments WHERE district_id = $1 AND year = $2 AND current",
        district_id,
        year,
    )


async def latest_current(
    conn: asyncpg.Connection, district_id: UUID | None, year: int
) -> asyncpg.Record | None:
    """The current publication of the latest published year up to `year`: its
    assessment_id, year, policy_version, state and objection_deadline."""
    return await conn.fetchrow(
        """SELECT assessment_id, year, policy_version, state, objection_deadline FROM assessments
           WHERE district_id = $1 AND current AND year <= $2 ORDER BY year DESC LIMIT 1""",
        district_id,
        year,
    )


async def results(conn: asyncpg.Connection, assessment_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM assessment_results WHERE assessment_id = $1 ORDER BY subject_kind, subject_id",
        assessment_id,
    )
    return rows


_RANK_COLUMN = {"district": None, "street": "street_id", "community": "community_id"}


async def results_page(
    conn: asyncpg.Connection, assessment_id: UUID, subject: str, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """A page of one kind of subject's results, by subject id, and how many there are."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT *, count(*) OVER () AS total FROM assessment_results
           WHERE assessment_id = $1 AND subject_kind = $2
           ORDER BY subject_id LIMIT $3 OFFSET $4""",
        assessment_id,
        subject,
        limit,
        offset,
    )
    return rows, await _total(conn, rows, offset, assessment_id, subject)


async def _total(
    conn: asyncpg.Connection,
    rows: list[asyncpg.Record],
    offset: int,
    assessment_id: UUID,
    subject: str,
    column: str | None = None,
    sid: UUID | None = None,
) -> int:
    # The window count comes with any row; a page past the end has none to carry it.
    if rows:
        return int(rows[0]["total"])
    if offset == 0:
        return 0
    where = f"AND {column} = $3" if column else ""
    args: list[Any] = [assessment_id, subject, *([sid] if column else [])]
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM assessment_results WHERE assessment_id = $1 "
            f"AND subject_kind = $2 {where}",
            *args,
        )
    )


async def ranking(
    conn: asyncpg.Connection,
    assessment_id: UUID,
    subject: str,
    scope: str,
    sid: UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[asyncpg.Record], int]:
    """A page of the subjects' results within the scope (the whole district, or the street
    or community `sid`), in rank order, and how many there are."""
    column = _RANK_COLUMN[scope]
    where = f"AND {column} = $5" if column else ""
    args: list[Any] = [assessment_id, subject, limit, offset]
    if column:
        args.append(sid)
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT *, count(*) OVER () AS total FROM assessment_results
            WHERE assessment_id = $1 AND subject_kind = $2 {where}
            ORDER BY rank_{scope}, subject_id LIMIT $3 OFFSET $4""",
        *args,
    )
    return rows, await _total(conn, rows, offset, assessment_id, subject, column, sid)


async def honour_units(
    conn: asyncpg.Connection, assessment_id: UUID, grades: list[str], communities: list[UUID]
) -> list[asyncpg.Record]:
    """Units graded into `grades` that have agreements with these communities, by rank:
    subject_id, score, grade."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT r.subject_id, r.score, r.grade FROM assessment_results r
           WHERE r.assessment_id = $1 AND r.subject_kind = 'unit' AND r.grade = ANY($2)
             AND r.subject_id IN (SELECT unit_id FROM agreements WHERE community_id = ANY($3))
           ORDER BY r.rank_district, r.subject_id""",
        assessment_id,
        grades,
        communities,
    )
    return rows
