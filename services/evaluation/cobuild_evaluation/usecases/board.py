"""The public board (上墙公示) of a street or a community: what its page shows, no personal
data. Its rates and drill-down, its signed agreements (parties are organisations), the
latest published year's honour roll of units, and links to the points service's member
honour rolls (names stay in points: ARCHITECTURE.md, "Personal data").

The same board is served as this service's own HTML page and as JSON, which the console's
public pages (/board/...) show with names: a street's communities, a community's units (each
unit's agreements with the community summed), the place above (a community's street, a
street's district) and the communities whose member honour rolls the points service serves."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
from cobuild_kit.clock import business_date
from cobuild_kit.errors import NotFound

from cobuild_evaluation.domain.ledger import MEASURES, Figures
from cobuild_evaluation.settings import EvaluationRuntime
from cobuild_evaluation.store import agreements, assessments, parties, policies, supervision
from cobuild_evaluation.usecases import ledger_view
from cobuild_evaluation.usecases.scopes import ScopeKind

Row = dict[str, Any]


@dataclass(frozen=True)
class Board:
    kind: str  # "street" or "community"
    name: str
    as_of: str
    figures: dict[str, Any]
    bars: list[tuple[str, str | None]]  # (label, rate or None)
    agreements: list[Row]
    year: int | None
    honour_units: list[Row]
    member_roll_links: list[tuple[str, str]]  # (community name, url)
    # Where the shown year's publication stands (issue 35): "publicised" (公示中, objections
    # until `objection_deadline`, a business date in Asia/Shanghai) or "final"; None unpublished.
    state: str | None = None
    objection_deadline: str | None = None
    # With names, for the console's pages (issue 35): the board's own id, the place above,
    # the drill-down (a street's communities; a community's units, each unit's agreements
    # with it summed) with their figures, and the communities whose member honour rolls the
    # points service serves for `year` (empty when the policy names no member honour roll).
    id: str = ""
    parent: Row | None = None
    children: list[Row] = field(default_factory=list)
    member_rolls: list[Row] = field(default_factory=list)


async def board(rt: EvaluationRuntime, kind: ScopeKind, sid: UUID, year: int | None) -> Board:
    """The board of a street or a community as of today; the honour roll of `year` (default:
    this year) or the latest published year before it."""
    today = business_date(rt.clock.now())
    async with rt.pool.acquire() as conn:
        place = await parties.place(conn, sid, kind.value)
        if place is None:
            raise NotFound(f"no {kind.value} {sid}")
        view = await ledger_view.view(conn, kind, sid, today)
        if kind == ScopeKind.STREET:
            communities = [UUID(c["id"]) for c in view["children"]]
            district_id = place["parent_id"]
            bars = [
                (c["name"] or c["id"][:8], c["figures"]["fulfilment_rate"])
                for c in view["children"]
            ]
            children = [
                {"id": c["id"], "name": c["name"] or "", "figures": c["figures"]}
                for c in view["children"]
            ]
        else:
            communities = [sid]
            district_id = await parties.parent_of(conn, place["parent_id"])
            children = await _units(conn, sid, today)
            bars = [(u["name"] or u["id"][:8], u["figures"]["fulfilment_rate"]) for u in children]
        above = await parties.names(conn, [place["parent_id"]]) if place["parent_id"] else {}
        shown_year, honour, member_roll = await _honour_units(
            conn, district_id, year or today.year, communities
        )
        head = (
            await assessments.latest_current(conn, district_id, year or today.year)
            if shown_year is not None
            else None
        )
        label = await parties.names(conn, communities)
        signed = await _agreements(conn, communities)
    base = rt.settings.points_public_url.rstrip("/")
    links = (
        [(label.get(c, str(c)), f"{base}/public/communities/{c}/honour-roll") for c in communities]
        if member_roll or shown_year is None
        else []
    )
    rolls = (
        [{"id": str(c), "name": label.get(c, "")} for c in communities]
        if member_roll and shown_year is not None
        else []
    )
    return Board(
        kind=kind.value,
        name=place["name"],
        as_of=today.isoformat(),
        figures=view["figures"],
        bars=[("合计 Total", view["figures"]["fulfilment_rate"]), *bars],
        agreements=signed,
        year=shown_year,
        honour_units=honour,
        member_roll_links=links,
        state=head["state"] if head else None,
        objection_deadline=(
            business_date(head["objection_deadline"]).isoformat()
            if head and head["objection_deadline"] and head["state"] == "publicised"
            else None
        ),
        id=str(sid),
        parent=(
            {
                "kind": "district" if kind == ScopeKind.STREET else "street",
                "id": str(place["parent_id"]),
                "name": above.get(place["parent_id"], ""),
            }
            if place["parent_id"]
            else None
        ),
        children=children,
        member_rolls=rolls,
    )


async def _units(conn: asyncpg.Connection, community_id: UUID, today: date) -> list[Row]:
    """The community's units, each with its agreements with the community summed, by name
    (the console's /ledger/units rule: they sum to the community's figures)."""
    found = await supervision.by_agreement(conn, "community", [community_id], today)
    per_unit: dict[UUID, list[Figures]] = defaultdict(list)
    for unit_id, _, figures in found:
        per_unit[unit_id].append(figures)
    label = await parties.names(conn, list(per_unit))
    units = [
        {
            "id": str(unit_id),
            "name": label.get(unit_id, ""),
            "agreements": len(figures),
            "figures": Figures({m: sum(f[m] for f in figures) for m in MEASURES}).as_dict(),
        }
        for unit_id, figures in per_unit.items()
    ]
    return sorted(units, key=lambda u: (u["name"], u["id"]))


async def _agreements(conn: asyncpg.Connection, communities: list[UUID]) -> list[Row]:
    rows = await agreements.signed_with(conn, communities)
    label = await parties.names(
        conn, [r["community_id"] for r in rows] + [r["unit_id"] for r in rows]
    )
    return [
        {
            "agreement_id": str(r["agreement_id"]),
            "community_id": str(r["community_id"]),
            "community": label.get(r["community_id"], ""),
            "unit_id": str(r["unit_id"]),
            "unit": label.get(r["unit_id"], ""),
            "commitments": r["n"],
            "term": f"{r['term_start']} – {r['term_end']}",
            "term_start": r["term_start"].isoformat(),
            "term_end": r["term_end"].isoformat(),
        }
        for r in rows
    ]


async def _honour_units(
    conn: asyncpg.Connection, district_id: UUID | None, year: int, communities: list[UUID]
) -> tuple[int | None, list[Row], bool]:
    """Units graded into the policy's honour roll in the latest published year ≤ `year`
    that have agreements with these communities."""
    head = await assessments.latest_current(conn, district_id, year)
    if head is None:
        return None, [], False
    policy = policies.load(head["policy_version"])
    rows = await assessments.honour_units(
        conn,
        head["assessment_id"],
        sorted(g.value for g in policy.unit_honour_grades),
        communities,
    )
    label = await parties.names(conn, [r["subject_id"] for r in rows])
    units = [
        {
            "unit_id": str(r["subject_id"]),
            "name": label.get(r["subject_id"], str(r["subject_id"])),
            "score": format(r["score"], "f"),
            "grade": r["grade"],
        }
        for r in rows
    ]
    return head["year"], units, policy.member_honour_roll
