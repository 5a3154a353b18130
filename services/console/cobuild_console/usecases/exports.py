"""The supervisors' exports (CSV and XLSX): the dashboard's level, the overdue list and the
league table as the pages show them, with Chinese headers (the catalogue's), names of
parties, amounts in yuan, and the scope and as-of date written above the table.

A large export runs in the background: an asyncio task of this process, its state and file
kept in memory for an hour (like the needs import's jobs and the sessions: a restart forgets
them, and the person asks again; ARCHITECTURE.md, "The workbench"). The page polls it with
htmx and offers the file when it is ready."""

from __future__ import annotations

import asyncio
import io
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import structlog
from cobuild_kit.sheets import safe_cell, to_csv
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from cobuild_console import i18n
from cobuild_console.domain.money import yuan
from cobuild_console.domain.rates import RATES, percent
from cobuild_console.domain.refusals import N_
from cobuild_console.domain.supervision import LeagueRow

log = structlog.get_logger("cobuild.console.exports")
JOB_TTL_S = 3600.0
MAX_JOBS = 200
# An overdue list longer than this is built in the background (the titles are read an
# agreement at a time from the commitments service).
INLINE_ROWS = 300
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"

RATE_HEADERS = {
    "fulfilment_rate": N_("Fulfilment rate (by count)"),
    "fulfilment_rate_fen": N_("Fulfilment rate (by value)"),
    "on_time_rate": N_("On-time rate (by count)"),
    "on_time_rate_fen": N_("On-time rate (by value)"),
}
COUNTS = (
    ("signed", N_("Signed")),
    ("fulfilled", N_("Fulfilled")),
    ("due", N_("Due by now")),
    ("on_time", N_("Fulfilled on time")),
    ("overdue", N_("Overdue")),
)
AMOUNTS = (
    ("signed_fen", N_("Signed (yuan)")),
    ("fulfilled_fen", N_("Fulfilled (yuan)")),
    ("overdue_fen", N_("Overdue (yuan)")),
)


@dataclass(frozen=True)
class Table:
    """What a file holds: a title, lines about it (scope, date), the header and the rows."""

    title: str
    about: list[tuple[str, str]]
    header: list[str]
    rows: list[list[Any]]


def _pct(value: str | None) -> str:
    shown = percent(value)
    return "" if shown is None else f"{shown}%"


def _figure_cells(f: dict[str, Any]) -> list[Any]:
    return [
        *(int(f[k]) for k, _ in COUNTS),
        *(yuan(int(f[k])) for k, _ in AMOUNTS),
        *(_pct(f[k]) for k in RATES),
    ]


def _figure_header() -> list[str]:
    g = i18n.gettext
    return [
        *(g(h) for _, h in COUNTS),
        *(g(h) for _, h in AMOUNTS),
        *(g(RATE_HEADERS[k]) for k in RATES),
    ]


def _about(scope_name: str, as_of: date) -> list[tuple[str, str]]:
    return [(i18n.gettext("Scope"), scope_name), (i18n.gettext("As of"), i18n.day(as_of))]


def overview_table(
    scope_name: str, as_of: date, level_name: str, children: list[tuple[str, dict[str, Any]]]
) -> Table:
    """The level's own row, then a row per child of the drill-down, as on the page."""
    rows = [[name, *_figure_cells(f)] for name, f in children]
    return Table(
        i18n.gettext("Fulfilment overview"),
        _about(scope_name, as_of),
        [level_name, *_figure_header()],
        rows,
    )


def overdue_table(
    scope_name: str,
    as_of: date,
    rows: list[dict[str, Any]],
    filters: list[tuple[str, str]] | None = None,
) -> Table:
    """`filters`: (what, the chosen value's name) of each filter applied, written under
    the scope so the file says which part of it it holds."""
    g = i18n.gettext
    return Table(
        g("Overdue commitments"),
        [*_about(scope_name, as_of), *(filters or [])],
        [
            g("Street"),
            g("Community"),
            g("Co-building unit"),
            g("Commitment"),
            g("Category"),
            g("Deadline"),
            g("Days late"),
            g("Funds (yuan)"),
        ],
        [
            [
                r.get("street_name") or "",
                r.get("community_name") or "",
                r.get("unit_name") or "",
                r["title"],
                r.get("category_label") or "",
                i18n.day(r["deadline"]),
                int(r["days_late"]),
                yuan(int(r["committed_fen"])),
            ]
            for r in rows
        ],
    )


def league_table(scope_name: str, as_of: date, rows: list[LeagueRow]) -> Table:
    g = i18n.gettext
    return Table(
        g("Unit league table"),
        _about(scope_name, as_of),
        [g("Rank"), g("Co-building unit"), g("Agreements"), *_figure_header()],
        [[r.rank, r.name, r.agreements, *_figure_cells(r.figures)] for r in rows],
    )


def as_csv(table: Table) -> bytes:
    """The lines about the table, a blank line, then the table (UTF-8 with a BOM)."""
    about = [[k, v] for k, v in table.about]
    rows: list[list[Any]] = [*about, [], table.header, *table.rows]
    return to_csv([table.title], rows)


def as_xlsx(table: Table) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = table.title[:31]
    ws.append([table.title])
    ws["A1"].font = Font(bold=True, size=14)
    for k, v in table.about:
        ws.append([k, v])
    ws.append([])
    ws.append(table.header)
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    header_row = ws.max_row
    for row in table.rows:
        ws.append([safe_cell(v) for v in row])
    # Yuan with two decimals, as on screen.
    for col, name in enumerate(table.header, start=1):
        if name.endswith(("（元）", "(yuan)")):
            for (cell,) in ws.iter_rows(min_row=header_row + 1, min_col=col, max_col=col):
                cell.number_format = "#,##0.00"
        ws.column_dimensions[get_column_letter(col)].width = max(10, min(40, len(name) * 2 + 4))
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def file_of(table: Table, fmt: str) -> tuple[bytes, str]:
    return (as_csv(table), CSV) if fmt == "csv" else (as_xlsx(table), XLSX)


# -- background jobs ------------------------------------------------------------------------


class Stage(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass
class ExportJob:
    job_id: str
    subject: str
    party_id: str
    filename: str
    fmt: str
    started: float
    stage: Stage = Stage.RUNNING
    content: bytes = b""
    media_type: str = ""
    rows: int = 0
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        return self.stage is not Stage.RUNNING


class ExportJobs:
    def __init__(self) -> None:
        self._jobs: OrderedDict[str, ExportJob] = OrderedDict()

    def new(self, subject: str, party_id: str, filename: str, fmt: str) -> ExportJob:
        now = time.monotonic()
        while self._jobs:
            oldest = next(iter(self._jobs.values()))
            if now - oldest.started > JOB_TTL_S or len(self._jobs) >= MAX_JOBS:
                self._jobs.popitem(last=False)
            else:
                break
        job = ExportJob(secrets.token_urlsafe(12), subject, party_id, filename, fmt, now)
        self._jobs[job.job_id] = job
        return job

    def find(self, job_id: str, subject: str, party_id: str) -> ExportJob | None:
        """The job, for the person who started it acting for the same party only."""
        job = self._jobs.get(job_id)
        if job is None or job.subject != subject or job.party_id != party_id:
            return None
        return job


jobs = ExportJobs()


def start(job: ExportJob, build: Callable[[], Awaitable[Table]]) -> None:
    async def run() -> None:
        try:
            table = await build()
            job.content, job.media_type = file_of(table, job.fmt)
            job.rows = len(table.rows)
            job.stage = Stage.DONE
        except Exception:  # the page says it failed; the log says why
            log.exception("export failed", job=job.job_id)
            job.stage = Stage.FAILED

    job.task = asyncio.create_task(run())
