"""CSV and XLSX exports of the ledger (any scope, any date) and of assessment results."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from cobuild_contracts.base import BusinessDate
from cobuild_kit.api import AUTHENTICATED, refusals
from cobuild_kit.clock import business_date
from cobuild_kit.service import ActorDep
from cobuild_kit.sheets import to_csv, to_xlsx
from fastapi import APIRouter, Query
from fastapi.responses import Response

from cobuild_evaluation.domain.ledger import MEASURES
from cobuild_evaluation.http.params import YearPath
from cobuild_evaluation.settings import RuntimeDep
from cobuild_evaluation.usecases import assessment, ledger_view
from cobuild_evaluation.usecases.scopes import ScopeKind, scope_id

router = APIRouter(tags=["exports"], responses=AUTHENTICATED)
Format = Literal["csv", "xlsx"]
RATES = ("fulfilment_rate", "fulfilment_rate_fen", "on_time_rate", "on_time_rate_fen")
LEDGER_HEADER = ["level", "scope", "id", "name", *MEASURES, *RATES]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A download: CSV (UTF-8 with a BOM, for spreadsheets) or XLSX, as `fmt` in the path says.
FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the file (content-disposition: attachment)",
        "content": {"text/csv": {}, XLSX: {}},
    },
    **refusals(404),
}


def _rate_cell(value: str | None) -> Decimal | None:
    # Rates go to spreadsheets as numbers (4 places), not text.
    return None if value is None else Decimal(value)


def _ledger_row(
    level: str, scope: str, sid: str, name: str | None, figs: dict[str, Any]
) -> list[Any]:
    return [
        level,
        scope,
        sid,
        name or "",
        *(figs[m] for m in MEASURES),
        *(_rate_cell(figs[r]) for r in RATES),
    ]


def _file(fmt: Format, name: str, title: str, header: list[str], rows: list[list[Any]]) -> Response:
    if fmt == "csv":
        body, media = to_csv(header, rows), "text/csv; charset=utf-8"
    else:
        body, media = to_xlsx([(title, header, rows)]), XLSX
    return Response(
        body,
        media_type=media,
        headers={"content-disposition": f'attachment; filename="{name}.{fmt}"'},
    )


@router.get("/exports/ledger.{fmt}", response_class=Response, responses=FILES)
async def export_ledger(
    fmt: Format,
    actor: ActorDep,
    rt: RuntimeDep,
    scope: Annotated[ScopeKind, Query()],
    id: Annotated[UUID | None, Query()] = None,
    as_of: Annotated[BusinessDate | None, Query()] = None,
) -> Response:
    """The scope's row, then one row per child scope (the drill-down). Who may export what
    as GET /ledger: `scope=all` is for operators; a scope outside the actor's subtree is 404.
    Money in fen, rates as numbers with 4 places."""
    sid = scope_id(scope, id)
    day = as_of or business_date(rt.clock.now())
    v = await ledger_view.read(rt, actor, scope, sid, day)
    rows = [_ledger_row("scope", v["scope"], v["id"], v["name"], v["figures"])]
    rows += [
        _ledger_row("child", v.get("child_scope", ""), c["id"], c["name"], c["figures"])
        for c in v["children"]
    ]
    return _file(
        fmt,
        f"ledger-{scope.value}-{day.isoformat()}",
        f"ledger {day.isoformat()}",
        LEDGER_HEADER,
        rows,
    )


@router.get("/exports/assessments/{year}.{fmt}", response_class=Response, responses=FILES)
async def export_assessment(
    year: YearPath,
    fmt: Format,
    district_id: Annotated[UUID, Query()],
    actor: ActorDep,
    rt: RuntimeDep,
) -> Response:
    """Published results: member ids (names are joined by the points service) and units.
    For the district's admins; another district's is 404."""
    res = await assessment.published_results(rt, actor, district_id, year, "export results")
    header = [
        "subject_kind",
        "subject_id",
        "community_id",
        "street_id",
        "unit_id",
        "score",
        "grade",
        "rank_community",
        "rank_street",
        "rank_district",
        "components",
    ]
    rows = [
        [
            kind,
            r["subject_id"],
            r["community_id"],
            r["street_id"],
            r["unit_id"],
            Decimal(r["score"]),
            r["grade"],
            r["ranks"].get("community"),
            r["ranks"].get("street"),
            r["ranks"]["district"],
            ";".join(f"{k}={v}" for k, v in sorted(r["components"].items())),
        ]
        for kind in ("member", "unit")
        for r in res[f"{kind}s"]
    ]
    return _file(
        fmt, f"assessment-{year}-{res['policy_version']}", f"assessment {year}", header, rows
    )
