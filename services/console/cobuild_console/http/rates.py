"""The party's fulfilment rate and on-time rate this year (履约率, 按时履约率), by count
and by value, from the ledger: figures, a chart (ECharts, drawn by /static/rates.js from
the page's data) and the same numbers as a table for those who cannot see the chart."""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from cobuild_console import i18n
from cobuild_console.domain.rates import RATES
from cobuild_console.domain.refusals import N_
from cobuild_console.http.web import ActingDep, render
from cobuild_console.usecases import rates

router = APIRouter()
SCOPES = {"unit_admin": "unit", "community_admin": "community"}
RATE_NAMES = {
    "fulfilment_rate": N_("Fulfilment rate (by count)"),
    "fulfilment_rate_fen": N_("Fulfilment rate (by value)"),
    "on_time_rate": N_("On-time rate (by count)"),
    "on_time_rate_fen": N_("On-time rate (by value)"),
}


@router.get("/rates")
async def show(request: Request, who: ActingDep) -> Response:
    scope = SCOPES.get(who.role)
    if scope is None:
        raise HTTPException(404)
    found = await rates.of_party(who.rt, await who.token(), scope, who.party_id)
    names = {k: i18n.gettext(v) for k, v in RATE_NAMES.items()}
    chart = {
        "labels": [i18n.gettext("Month %(m)s") % {"m": p.as_of.month} for p in found.trend],
        "series": [{"name": names[k], "values": [p.rates[k] for p in found.trend]} for k in RATES],
    }
    return render(
        request,
        "rates/rates.html",
        r=found,
        names=names,
        rate_keys=RATES,
        chart_data=json.dumps(chart, ensure_ascii=False),
    )
