"""The supervisors' pages (street and district admins): 总览 (the dashboard with its
drill-down, as of a chosen date), 逾期清单 (the overdue list with its filters), 单位排名 (the
units' league table), their CSV and XLSX exports (a large one in the background, the page
polling it), and 共建单位名录 (the parties directory of the scope)."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.rates import RATES, percent
from cobuild_console.domain.refusals import N_
from cobuild_console.domain.supervision import LEVELS, OverdueFilters, choices, scope_of
from cobuild_console.http.rates import RATE_NAMES
from cobuild_console.http.web import Acting, ActingDep, redirect, render
from cobuild_console.usecases import alliances, exports, supervise, whistles
from cobuild_console.usecases.exports import ExportJob, Table

router = APIRouter()
Format = Literal["csv", "xlsx"]
STOP_POLLING = 286
LEVEL_NAMES = {
    "district": N_("District"),
    "street": N_("Street"),
    "community": N_("Community"),
    "unit": N_("Co-building unit"),
    "agreement": N_("Agreement"),
    "commitment": N_("Commitment"),
}
AsOf = Annotated[date | None, Query()]


def _scope(who: Acting) -> str:
    scope = scope_of(who.role)
    if scope is None:
        raise HTTPException(404)  # supervisors' pages only
    return scope


def _as_of(who: Acting, as_of: date | None) -> date:
    today = who.rt.today()
    return today if as_of is None or as_of > today else as_of


def _download(content: bytes, media_type: str, filename: str, fmt: str) -> Response:
    # RFC 6266: an ASCII fallback and the UTF-8 name (Chinese file names).
    disposition = (
        f"attachment; filename=\"cobuild-export.{fmt}\"; filename*=UTF-8''{quote(filename)}"
    )
    return Response(content, media_type=media_type, headers={"content-disposition": disposition})


def _filename(title: str, scope_name: str, as_of: date, fmt: str) -> str:
    return f"{title}-{scope_name}-{as_of.isoformat()}.{fmt}"


def _send(table: Table, scope_name: str, as_of: date, fmt: str) -> Response:
    content, media = exports.file_of(table, fmt)
    return _download(content, media, _filename(table.title, scope_name, as_of, fmt), fmt)


# -- 总览 -------------------------------------------------------------------------------------


async def _overview(
    who: Acting, level: str | None, party_id: str | None, as_of: date, community: str
) -> supervise.Overview:
    scope = _scope(who)
    level = level or scope
    if level not in LEVELS or (level == "unit" and not community):
        raise HTTPException(404)
    return await supervise.overview(
        who.rt, await who.token(), who.party_id, level, party_id or who.party_id, as_of, community
    )


@router.get("/overview")
async def overview(
    request: Request,
    who: ActingDep,
    level: str | None = None,
    id: str | None = None,
    as_of: AsOf = None,
    community: str = "",
) -> Response:
    day = _as_of(who, as_of)
    view = await _overview(who, level, id, day, community)
    names = {k: i18n.gettext(v) for k, v in RATE_NAMES.items()}
    trend = view.rates.trend if view.rates else []
    chart = {
        "labels": [i18n.gettext("Month %(m)s") % {"m": p.as_of.month} for p in trend],
        "series": [{"name": names[k], "values": [p.rates[k] for p in trend]} for k in RATES],
    }
    query = {"level": view.level, "id": view.party_id, "community": community}
    # The joint meetings' decisions (origin=meeting) of a place: their own fulfilment figures.
    places = view.level in ("district", "street", "community")
    token = await who.token()
    meeting_rate, whistle_rates = (
        await asyncio.gather(
            alliances.decisions_rate(who.rt, token, view.level, view.party_id, day),
            whistles.rates_of_place(who.rt, token, view.level, view.party_id, day),
        )
        if places
        else (None, None)
    )
    return render(
        request,
        "supervise/overview.html",
        v=view,
        show_meetings=places,
        meeting_rate=meeting_rate,
        whistle_rates=whistle_rates,
        names=names,
        rate_keys=RATES,
        level_name=i18n.gettext(LEVEL_NAMES[view.level]),
        child_name=i18n.gettext(LEVEL_NAMES[view.child_level]) if view.child_level else "",
        chart_data=json.dumps(chart, ensure_ascii=False),
        trend=trend,
        today=who.rt.today(),
        export_query=urlencode({**query, "as_of": day.isoformat()}),
        hidden=query,
        percent=percent,
    )


@router.get("/overview/export.{fmt}")
async def overview_export(
    fmt: Format,
    who: ActingDep,
    level: str | None = None,
    id: str | None = None,
    as_of: AsOf = None,
    community: str = "",
) -> Response:
    day = _as_of(who, as_of)
    view = await _overview(who, level, id, day, community)
    rows = [(view.name, view.figures), *((c.name, c.figures) for c in view.children)]
    child = LEVEL_NAMES[view.child_level] if view.child_level else LEVEL_NAMES[view.level]
    table = exports.overview_table(view.name, day, i18n.gettext(child), rows)
    return _send(table, view.name, day, fmt)


# -- 逾期清单 ---------------------------------------------------------------------------------


async def _overdue_rows(
    who: Acting, day: date, filters: OverdueFilters
) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """(the scope's name, every overdue row of the scope, those the filters keep)."""
    level, party = _overdue_scope(who, filters)
    token = await who.token()
    rows = await supervise.overdue(who.rt, token, level, party, day, i18n.current_locale.get())
    return _acting_name(who), rows, [r for r in rows if filters.keeps(r)]


def _overdue_scope(who: Acting, filters: OverdueFilters) -> tuple[str, str]:
    """A district admin's street filter narrows the ledger's scope to the street."""
    scope = _scope(who)
    if filters.street and scope == "district":
        return "street", filters.street
    return scope, who.party_id


def _chosen(filters: OverdueFilters, rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Each filter applied, by the name of what it chose (from the rows it filtered)."""
    out = []
    for value, key, name_key, label in (
        (filters.street, "street_id", "street_name", N_("Street")),
        (filters.community, "community_id", "community_name", N_("Community")),
        (filters.unit, "unit_id", "unit_name", N_("Co-building unit")),
        (filters.category, "category", "category_label", N_("Category")),
    ):
        if value:
            name = next((str(r[name_key]) for r in rows if str(r.get(key)) == value), value)
            out.append((i18n.gettext(label), name))
    return out


def _acting_name(who: Acting) -> str:
    return who.session.acting.party_name if who.session.acting else ""


@router.get("/overdue")
async def overdue(
    request: Request,
    who: ActingDep,
    as_of: AsOf = None,
    street: str = "",
    community: str = "",
    unit: str = "",
    category: str = "",
) -> Response:
    day = _as_of(who, as_of)
    filters = OverdueFilters(street, community, unit, category)
    _, every, kept = await _overdue_rows(who, day, filters)
    streets = (
        await supervise.streets_of(who.rt, await who.token(), who.party_id)
        if _scope(who) == "district"
        else []
    )
    return render(
        request,
        "supervise/overdue.html",
        rows=kept,
        as_of=day,
        today=who.rt.today(),
        filters=filters,
        streets=streets,
        communities=choices(every, "community_id", "community_name"),
        units=choices(every, "unit_id", "unit_name"),
        categories=choices(every, "category", "category_label"),
        total_fen=sum(int(r["committed_fen"]) for r in kept),
        export_query=urlencode({**filters.query(), "as_of": day.isoformat()}),
    )


@router.get("/overdue/export.{fmt}")
async def overdue_export(
    fmt: Format,
    who: ActingDep,
    as_of: AsOf = None,
    street: str = "",
    community: str = "",
    unit: str = "",
    category: str = "",
) -> Response:
    day = _as_of(who, as_of)
    filters = OverdueFilters(street, community, unit, category)
    level, party = _overdue_scope(who, filters)
    scope_name = _acting_name(who)

    async def build() -> Table:
        _, every, kept = await _overdue_rows(who, day, filters)
        return exports.overdue_table(scope_name, day, kept, _chosen(filters, every))

    total = await supervise.overdue_total(who.rt, await who.token(), level, party, day)
    if total <= exports.INLINE_ROWS:
        return _send(await build(), scope_name, day, fmt)
    title = i18n.gettext("Overdue commitments")
    job = exports.jobs.new(
        who.session.subject or "", who.party_id, _filename(title, scope_name, day, fmt), fmt
    )
    exports.start(job, build)
    return redirect(f"/exports/{job.job_id}")


# -- 单位排名 ---------------------------------------------------------------------------------


@router.get("/league")
async def league(request: Request, who: ActingDep, as_of: AsOf = None) -> Response:
    day = _as_of(who, as_of)
    name, rows = await supervise.league_table(
        who.rt, await who.token(), _scope(who), who.party_id, day
    )
    return render(
        request,
        "supervise/league.html",
        rows=rows,
        scope_name=name,
        as_of=day,
        today=who.rt.today(),
        percent=percent,
        export_query=urlencode({"as_of": day.isoformat()}),
    )


@router.get("/league/export.{fmt}")
async def league_export(fmt: Format, who: ActingDep, as_of: AsOf = None) -> Response:
    day = _as_of(who, as_of)
    name, rows = await supervise.league_table(
        who.rt, await who.token(), _scope(who), who.party_id, day
    )
    return _send(exports.league_table(name, day, rows), name, day, fmt)


# -- an export in the background --------------------------------------------------------------


def _job(who: Acting, job_id: str) -> ExportJob:
    _scope(who)
    job = exports.jobs.find(job_id, who.session.subject or "", who.party_id)
    if job is None:
        raise HTTPException(404)
    return job


@router.get("/exports/{job_id}")
async def export_job(request: Request, job_id: str, who: ActingDep) -> Response:
    job = _job(who, job_id)
    if request.headers.get("hx-request") != "true":
        return render(request, "supervise/export.html", job=job)
    # htmx polls while the job runs; 286 tells it to swap this answer in and stop.
    status = STOP_POLLING if job.finished else 200
    return render(request, "supervise/export_job.html", status=status, job=job)


@router.get("/exports/{job_id}/file")
async def export_file(job_id: str, who: ActingDep) -> Response:
    job = _job(who, job_id)
    if job.stage is not exports.Stage.DONE:
        raise HTTPException(404)
    return _download(job.content, job.media_type, job.filename, job.fmt)
