"""The supervisors' reads (street and district admins): the dashboard with its drill-down,
the overdue list and the units' league table, from the evaluation service's ledger; names of
parties from the agreements service's directory (and the ledger's own copy of it); titles
and categories of commitments from the commitments service."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from cobuild_console import i18n
from cobuild_console.domain.supervision import LeagueRow, league
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.usecases.needs import reference, vocabularies
from cobuild_console.usecases.rates import Rates, of_party

# At most this many drill-down rows on one page (a district has tens of streets, a street
# tens of communities; a community's agreements, a few hundred at most).
CHILDREN = 1000
PARALLEL = 8  # requests to one service at once for one page


@dataclass(frozen=True)
class Crumb:
    label: str
    href: str


@dataclass(frozen=True)
class Child:
    party_id: str
    name: str
    href: str
    figures: dict[str, Any]
    note: str = ""  # a commitment's deadline, an agreement's term


@dataclass
class Overview:
    level: str
    party_id: str
    name: str
    as_of: date
    figures: dict[str, Any]
    rates: Rates | None  # with the month-by-month trend; None for a unit within a community
    child_level: str | None = None
    children: list[Child] = field(default_factory=list)
    trail: list[Crumb] = field(default_factory=list)
    commitment_href: str = ""


def overview_href(level: str, party_id: str, as_of: date, **more: str) -> str:
    return "/overview?" + urlencode({"level": level, "id": party_id, "as_of": as_of, **more})


def agreement_name(agreement: dict[str, Any]) -> str:
    """An agreement has no title: its term names it (a unit signs one a year with a
    community, as a rule)."""
    rounds = agreement.get("rounds") or [{}]
    version = agreement.get("signed_version") or agreement.get("version")
    term = next((r for r in rounds if r.get("version") == version), rounds[-1])
    return i18n.gettext("Agreement %(start)s – %(end)s") % {
        "start": i18n.day(term.get("term_start")),
        "end": i18n.day(term.get("term_end")),
    }


async def _party(rt: ConsoleRuntime, token: str, party_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await rt.services.get("agreements", f"/parties/{party_id}", token)
    return found


async def _trail(
    rt: ConsoleRuntime, token: str, home: str, party_id: str, as_of: date
) -> list[Crumb]:
    """From the supervisor's own party down to `party_id` (a district, street or community),
    following the directory's parents."""
    chain: list[dict[str, Any]] = []
    current: str | None = party_id
    while current and len(chain) < 4:
        party = await _party(rt, token, current)
        chain.append(party)
        if str(party["party_id"]) == home:
            break
        current = str(party["parent_id"]) if party.get("parent_id") else None
    return [
        Crumb(p["name"], overview_href(p["kind"], str(p["party_id"]), as_of))
        for p in reversed(chain)
    ]


async def _ledger(
    rt: ConsoleRuntime, token: str, scope: str, party_id: str, as_of: date
) -> dict[str, Any]:
    view: dict[str, Any] = await rt.services.get(
        "evaluation",
        "/ledger",
        token,
        scope=scope,
        id=party_id,
        as_of=as_of.isoformat(),
        children_limit=CHILDREN,
    )
    return view


async def units_in(
    rt: ConsoleRuntime, token: str, scope: str, party_id: str, as_of: date, agreements: bool
) -> dict[str, Any]:
    found: dict[str, Any] = await rt.services.get(
        "evaluation",
        "/ledger/units",
        token,
        scope=scope,
        id=party_id,
        as_of=as_of.isoformat(),
        agreements=str(agreements).lower(),
    )
    return found


async def overview(
    rt: ConsoleRuntime,
    token: str,
    home: str,
    level: str,
    party_id: str,
    as_of: date,
    community: str = "",
) -> Overview:
    """One level of the drill-down as of a date: its figures, its trend, its children."""
    if level in ("district", "street"):
        rates, view, trail = await asyncio.gather(
            of_party(rt, token, level, party_id, as_of),
            _ledger(rt, token, level, party_id, as_of),
            _trail(rt, token, home, party_id, as_of),
        )
        kid = str(view["child_scope"])
        children = [
            Child(
                str(c["id"]), c["name"] or "", overview_href(kid, str(c["id"]), as_of), c["figures"]
            )
            for c in view["children"]
        ]
        return Overview(
            level, party_id, view["name"] or "", as_of, view["figures"], rates, kid, children, trail
        )
    if level == "community":
        rates, view, units, trail = await asyncio.gather(
            of_party(rt, token, level, party_id, as_of),
            _ledger(rt, token, level, party_id, as_of),
            units_in(rt, token, "community", party_id, as_of, agreements=False),
            _trail(rt, token, home, party_id, as_of),
        )
        children = [
            Child(
                str(u["unit_id"]),
                u["name"] or "",
                overview_href("unit", str(u["unit_id"]), as_of, community=party_id),
                u["figures"],
            )
            for u in units["items"]
        ]
        return Overview(
            level, party_id, view["name"] or "", as_of, view["figures"], rates, "unit", children,
            trail,
        )  # fmt: skip
    if level == "unit":
        return await _unit_in_community(rt, token, home, party_id, community, as_of)
    if level == "agreement":
        return await _agreement(rt, token, home, party_id, as_of)
    return await _commitment(rt, token, home, party_id, as_of)


async def _unit_in_community(
    rt: ConsoleRuntime, token: str, home: str, unit_id: str, community: str, as_of: date
) -> Overview:
    """A unit's agreements with one community, each with its figures and term."""
    units, trail = await asyncio.gather(
        units_in(rt, token, "community", community, as_of, agreements=True),
        _trail(rt, token, home, community, as_of),
    )
    unit = next((u for u in units["items"] if str(u["unit_id"]) == unit_id), None)
    if unit is None:  # no agreement with this community: nothing to drill into
        raise ServiceRefusal("evaluation", 404, {"error": "not_found", "message": "no such unit"})
    sem = asyncio.Semaphore(PARALLEL)

    async def agreement(agreement_id: str) -> dict[str, Any]:
        async with sem:
            found: dict[str, Any] = await rt.services.get(
                "agreements", f"/agreements/{agreement_id}", token
            )
            return found

    ids = [str(a["agreement_id"]) for a in unit["agreements"]]
    details = await asyncio.gather(*(agreement(a) for a in ids))
    children = [
        Child(
            a,
            agreement_name(d),
            overview_href("agreement", a, as_of),
            item["figures"],
            note=str(len(d.get("commitments") or [])),
        )
        for a, d, item in zip(ids, details, unit["agreements"], strict=True)
    ]
    href = overview_href("unit", unit_id, as_of, community=community)
    return Overview(
        "unit", unit_id, unit["name"] or "", as_of, unit["figures"], None, "agreement", children,
        [*trail, Crumb(unit["name"] or "", href)],
    )  # fmt: skip


async def _agreement_trail(
    rt: ConsoleRuntime, token: str, home: str, agreement: dict[str, Any], as_of: date
) -> list[Crumb]:
    """Down to the agreement: its community's trail, its unit there, the agreement."""
    community, unit = str(agreement["community_id"]), str(agreement["unit_id"])
    trail, unit_party = await asyncio.gather(
        _trail(rt, token, home, community, as_of), _party(rt, token, unit)
    )
    href = overview_href("agreement", str(agreement["agreement_id"]), as_of)
    return [
        *trail,
        Crumb(unit_party["name"], overview_href("unit", unit, as_of, community=community)),
        Crumb(agreement_name(agreement), href),
    ]


async def _agreement(
    rt: ConsoleRuntime, token: str, home: str, agreement_id: str, as_of: date
) -> Overview:
    rates, view, agreement = await asyncio.gather(
        of_party(rt, token, "agreement", agreement_id, as_of),
        _ledger(rt, token, "agreement", agreement_id, as_of),
        rt.services.get("agreements", f"/agreements/{agreement_id}", token),
    )
    trail = await _agreement_trail(rt, token, home, agreement, as_of)
    titles = {str(c["commitment_id"]): c for c in agreement.get("commitments") or []}
    children = [
        Child(
            str(c["id"]),
            titles.get(str(c["id"]), {}).get("title") or str(c["id"])[:8],
            overview_href("commitment", str(c["id"]), as_of),
            c["figures"],
            note=str(titles.get(str(c["id"]), {}).get("deadline") or ""),
        )
        for c in view["children"]
    ]
    return Overview(
        "agreement", agreement_id, agreement_name(agreement), as_of, view["figures"], rates,
        "commitment", children, trail,
    )  # fmt: skip


async def _commitment(
    rt: ConsoleRuntime, token: str, home: str, commitment_id: str, as_of: date
) -> Overview:
    rates, commitment = await asyncio.gather(
        of_party(rt, token, "commitment", commitment_id, as_of),
        rt.services.get("commitments", f"/commitments/{commitment_id}", token),
    )
    agreement_id = str(commitment["agreement_id"])
    agreement = await rt.services.get("agreements", f"/agreements/{agreement_id}", token)
    trail = await _agreement_trail(rt, token, home, agreement, as_of)
    href = overview_href("commitment", commitment_id, as_of)
    return Overview(
        "commitment", commitment_id, commitment["title"], as_of, rates.figures, rates,
        trail=[*trail, Crumb(commitment["title"], href)],
        commitment_href=f"/commitments/{commitment_id}",
    )  # fmt: skip


# -- the overdue list ---------------------------------------------------------------------


async def overdue(
    rt: ConsoleRuntime, token: str, scope: str, party_id: str, as_of: date, locale: str
) -> list[dict[str, Any]]:
    """Every commitment overdue as of the date in the scope, with its title and category
    (from the commitments service, read an agreement at a time)."""
    rows = await rt.services.every(
        "evaluation",
        "/ledger/overdue",
        token,
        {"scope": scope, "id": party_id, "as_of": as_of.isoformat()},
        cap=20_000,
    )
    sem = asyncio.Semaphore(PARALLEL)

    async def of_agreement(agreement_id: str) -> list[dict[str, Any]]:
        async with sem:
            return await rt.services.every(
                "commitments", "/commitments", token, {"agreement_id": agreement_id}
            )

    # One read for most: the commitments service's overdue flag stays once raised, so the
    # flagged commitments of the actor's subtree hold nearly every row; the few it lacks
    # (fulfilled late before the flag's scan came) are read an agreement at a time.
    by_id: dict[str, dict[str, Any]] = {}
    if rows:
        flagged = await rt.services.every(
            "commitments", "/commitments", token, {"overdue": "true"}, cap=20_000
        )
        by_id = {str(c["commitment_id"]): c for c in flagged}
    agreements = sorted(
        {str(r["agreement_id"]) for r in rows if str(r["commitment_id"]) not in by_id}
    )
    found = await asyncio.gather(*(of_agreement(a) for a in agreements))
    by_id |= {str(c["commitment_id"]): c for cs in found for c in cs}
    words = vocabularies(await reference(rt, token), locale)
    for r in rows:
        c = by_id.get(str(r["commitment_id"]), {})
        r["title"] = c.get("title") or str(r["commitment_id"])[:8]
        r["category"] = c.get("category") or ""
        # Who owes it: most are the unit's; some are the community's to the unit.
        r["owed_by_community"] = str(c.get("obligor_party_id")) == str(r["community_id"])
        r["category_label"] = words.label("categories", r["category"]) if r["category"] else ""
    return rows


async def overdue_total(
    rt: ConsoleRuntime, token: str, scope: str, party_id: str, as_of: date
) -> int:
    page = await rt.services.get(
        "evaluation", "/ledger/overdue", token, scope=scope, id=party_id,
        as_of=as_of.isoformat(), limit=1,
    )  # fmt: skip
    return int(page["total"] or 0)


async def streets_of(rt: ConsoleRuntime, token: str, district: str) -> list[tuple[str, str]]:
    found = await rt.services.every(
        "agreements", "/parties", token, {"parent_id": district, "kind": "street"}
    )
    return [(str(p["party_id"]), p["name"]) for p in found]


# -- the league table ---------------------------------------------------------------------


async def league_table(
    rt: ConsoleRuntime, token: str, scope: str, party_id: str, as_of: date
) -> tuple[str, list[LeagueRow]]:
    found = await units_in(rt, token, scope, party_id, as_of, agreements=False)
    return found["name"] or "", league(found["items"])
