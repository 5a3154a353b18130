"""The public board: one page per street and per community (no token, rate-limited)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
from cobuild_kit.clock import business_date
from cobuild_kit.errors import NotFound
from cobuild_kit.service import PublicRateLimit, Runtime, RuntimeDep
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from cobuild_evaluation import ledger_view
from cobuild_evaluation.board import Board, render
from cobuild_evaluation.scopes import ScopeKind, names
from cobuild_evaluation.store import policies

router = APIRouter(tags=["public"], dependencies=[PublicRateLimit])


async def _place(conn: asyncpg.Connection, sid: UUID, kind: str) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT party_id, name, parent_id FROM party_directory WHERE party_id = $1 AND kind = $2",
        sid,
        kind,
    )
    if row is None:
        raise NotFound(f"no {kind} {sid}")
    return row


async def _agreements(conn: asyncpg.Connection, communities: list[UUID]) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT a.agreement_id, a.community_id, a.unit_id, a.term_start, a.term_end,
                  (SELECT count(*) FROM ledger_commitments c WHERE c.agreement_id = a.agreement_id) AS n
           FROM agreements a WHERE a.community_id = ANY($1) ORDER BY a.signed_at, a.agreement_id""",
        communities,
    )
    label = await names(conn, [r["community_id"] for r in rows] + [r["unit_id"] for r in rows])
    return [
        {
            "agreement_id": str(r["agreement_id"]),
            "community": label.get(r["community_id"], ""),
            "unit": label.get(r["unit_id"], ""),
            "commitments": r["n"],
            "term": f"{r['term_start']} – {r['term_end']}",
        }
        for r in rows
    ]


async def _honour_units(
    conn: asyncpg.Connection, district_id: UUID | None, year: int, communities: list[UUID]
) -> tuple[int | None, list[dict[str, Any]], bool]:
    """Units graded into the policy's honour roll in the latest published year ≤ `year`
    that have agreements with these communities."""
    head = await conn.fetchrow(
        """SELECT assessment_id, year, policy_version FROM assessments
           WHERE district_id = $1 AND current AND year <= $2 ORDER BY year DESC LIMIT 1""",
        district_id,
        year,
    )
    if head is None:
        return None, [], False
    policy = policies.load(head["policy_version"])
    rows = await conn.fetch(
        """SELECT r.subject_id, r.score, r.grade FROM assessment_results r
           WHERE r.assessment_id = $1 AND r.subject_kind = 'unit' AND r.grade = ANY($2)
             AND r.subject_id IN (SELECT unit_id FROM agreements WHERE community_id = ANY($3))
           ORDER BY r.rank_district, r.subject_id""",
        head["assessment_id"],
        sorted(g.value for g in policy.unit_honour_grades),
        communities,
    )
    label = await names(conn, [r["subject_id"] for r in rows])
    units = [
        {
            "name": label.get(r["subject_id"], str(r["subject_id"])),
            "score": format(r["score"], "f"),
            "grade": r["grade"],
        }
        for r in rows
    ]
    return head["year"], units, policy.member_honour_roll


async def _page(rt: Runtime, kind: ScopeKind, sid: UUID, year: int | None) -> str:
    today = business_date(rt.clock.now())
    async with rt.pool.acquire() as conn:
        place = await _place(conn, sid, kind.value)
        view = await ledger_view.view(conn, kind, sid, today)
        if kind == ScopeKind.STREET:
            communities = [UUID(c["id"]) for c in view["children"]]
            district_id = place["parent_id"]
            bars = [
                (c["name"] or c["id"][:8], c["figures"]["fulfilment_rate"])
                for c in view["children"]
            ]
        else:
            communities = [sid]
            street = await conn.fetchrow(
                "SELECT parent_id FROM party_directory WHERE party_id = $1", place["parent_id"]
            )
            district_id = street["parent_id"] if street else None
            bars = [(c["id"][:8], c["figures"]["fulfilment_rate"]) for c in view["children"]]
        shown_year, honour, member_roll = await _honour_units(
            conn, district_id, year or today.year, communities
        )
        label = await names(conn, communities)
        agreements = await _agreements(conn, communities)
    base = rt.settings.points_public_url.rstrip("/")  # type: ignore[attr-defined]
    links = (
        [(label.get(c, str(c)), f"{base}/public/communities/{c}/honour-roll") for c in communities]
        if member_roll or shown_year is None
        else []
    )
    return render(
        Board(
            kind=kind.value,
            name=place["name"],
            as_of=today.isoformat(),
            figures=view["figures"],
            bars=[("合计 Total", view["figures"]["fulfilment_rate"]), *bars],
            agreements=agreements,
            year=shown_year,
            honour_units=honour,
            member_roll_links=links,
        )
    )


@router.get("/public/streets/{street_id}", response_class=HTMLResponse)
async def street_page(
    street_id: UUID, rt: RuntimeDep, year: Annotated[int | None, Query(ge=2000, le=2100)] = None
) -> HTMLResponse:
    return HTMLResponse(await _page(rt, ScopeKind.STREET, street_id, year))


@router.get("/public/communities/{community_id}", response_class=HTMLResponse)
async def community_page(
    community_id: UUID, rt: RuntimeDep, year: Annotated[int | None, Query(ge=2000, le=2100)] = None
) -> HTMLResponse:
    return HTMLResponse(await _page(rt, ScopeKind.COMMUNITY, community_id, year))
