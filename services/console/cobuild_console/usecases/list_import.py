"""Importing a list (a community's needs, a unit's resources) from a spreadsheet, in the
background: the file is read, every row checked, then all rows are sent in one bulk command of
the agreements service, all or none. The page polls the job for its progress and shows every
bad row; the same errors can be downloaded as a file. Jobs live in this process's memory for
an hour (like sessions: a restart forgets them, and nothing is half-done, since the service's
command is atomic).

What differs between the lists is a `ListImport`: how a sheet is parsed, where its rows are
sent, which entries exist already; the job, its steps, the error report and the template's
workbook are the same for both."""

from __future__ import annotations

import asyncio
import hashlib
import io
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import structlog
from cobuild_kit.errors import Invalid
from cobuild_kit.sheets import read_rows, to_xlsx
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from cobuild_console import i18n
from cobuild_console.domain.list_sheet import Choices, Column, ParsedSheet, RowError, SheetRow
from cobuild_console.domain.refusals import N_, explain
from cobuild_console.gateways.services import ServiceRefusal, ServiceUnavailable
from cobuild_console.runtime import ConsoleRuntime

log = structlog.get_logger("cobuild.console.import")
JOB_TTL_S = 3600.0
MAX_JOBS = 500
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 1000  # the bulk commands' bound
# A bulk command of 1,000 rows publishes and matches each in one transaction: seconds, more on
# a loaded machine, past the upstream timeout meant for a page's reads. The job runs in the
# background, so it can wait; and a command that did finish after all is found by the next
# import of the file (the same ids: nothing new).
BULK_TIMEOUT_S = 120.0


class Stage(StrEnum):
    READING = "reading"
    CHECKING = "checking"
    SENDING = "sending"
    DONE = "done"
    FAILED = "failed"


@dataclass
class ImportJob:
    job_id: str
    owner_id: str  # the community or unit whose list it is
    subject: str
    filename: str
    started: float
    stage: Stage = Stage.READING
    rows_total: int = 0
    rows_checked: int = 0
    errors: list[RowError] = field(default_factory=list)
    problem: tuple[str, tuple[str, ...]] | None = None  # the whole file's (message id, args)
    imported: int = 0  # entries this import published
    unchanged: int = 0  # rows whose entry was published by an earlier import of them
    task: asyncio.Task[None] | None = None

    @property
    def finished(self) -> bool:
        return self.stage in (Stage.DONE, Stage.FAILED)

    @property
    def percent(self) -> int:
        if self.stage is Stage.READING:
            return 5
        if self.stage is Stage.CHECKING:
            return 10 + (50 * self.rows_checked) // max(self.rows_total, 1)
        if self.stage is Stage.SENDING:
            return 70
        return 100


class ImportJobs:
    def __init__(self) -> None:
        self._jobs: OrderedDict[str, ImportJob] = OrderedDict()

    def new(self, owner_id: str, subject: str, filename: str) -> ImportJob:
        now = time.monotonic()
        while self._jobs:
            oldest = next(iter(self._jobs.values()))
            if now - oldest.started > JOB_TTL_S or len(self._jobs) >= MAX_JOBS:
                self._jobs.popitem(last=False)
            else:
                break
        job = ImportJob(secrets.token_urlsafe(12), owner_id, subject, filename, now)
        self._jobs[job.job_id] = job
        return job

    def find(self, job_id: str, owner_id: str, subject: str) -> ImportJob | None:
        """The job, for the person who started it acting for the same party only."""
        job = self._jobs.get(job_id)
        if job is None or job.owner_id != owner_id or job.subject != subject:
            return None
        return job


@dataclass(frozen=True)
class ListImport:
    """One list's import: what the shared steps ask of it."""

    name: str  # needs, resources: in logs and idempotency keys
    id_field: str  # the bulk item's own id: need_id
    no_rows: str  # the message for a file without data rows
    missing_columns: Callable[[Sequence[str]], list[str]]  # the headers read → those lacking
    # (rt, token, job, rows) → the parsed sheet (reads what the parse needs: reference data)
    parse: Callable[
        [ConsoleRuntime, str, ImportJob, Sequence[tuple[int, Mapping[str, str]]]],
        Awaitable[ParsedSheet],
    ]
    existing: Callable[[ConsoleRuntime, str, str], Awaitable[set[str]]]  # owner's entry ids
    bulk_path: Callable[[str], str]  # owner → the bulk command's path
    refused_rows: Callable[[Mapping[str, Any], Sequence[SheetRow]], list[RowError]]
    jobs: ImportJobs = field(default_factory=ImportJobs)

    def start(self, rt: ConsoleRuntime, token: str, job: ImportJob, data: bytes) -> None:
        job.task = asyncio.create_task(self._run(rt, token, job, data))

    async def _run(self, rt: ConsoleRuntime, token: str, job: ImportJob, data: bytes) -> None:
        try:
            await self._steps(rt, token, job, data)
        except ServiceUnavailable:
            job.problem = (N_("A service did not answer. Try again in a moment."), ())
            job.stage = Stage.FAILED
        except Exception:  # the page must not poll forever: say it failed, log why
            log.exception(f"{self.name} import failed", job_id=job.job_id)
            job.problem = (N_("The import failed unexpectedly; nothing was imported."), ())
            job.stage = Stage.FAILED

    async def _steps(self, rt: ConsoleRuntime, token: str, job: ImportJob, data: bytes) -> None:
        try:
            rows = await asyncio.to_thread(read_rows, data, required=(), max_rows=MAX_ROWS)
        except Invalid as refused:
            job.problem, job.stage = _file_problem(refused), Stage.FAILED
            return
        present = {h.strip() for _, cells in rows for h in cells}
        missing = self.missing_columns(sorted(present))
        if not rows or missing:
            job.problem = (
                (N_("The file lacks the columns: %(0)s. Use the template."), ("、".join(missing),))
                if missing
                else (self.no_rows, ())
            )
            job.stage = Stage.FAILED
            return
        job.stage, job.rows_total = Stage.CHECKING, len(rows)
        sheet = await self.parse(rt, token, job, rows)
        job.rows_checked = len(rows)
        if sheet.errors:
            job.errors, job.stage = sheet.errors, Stage.FAILED
            return
        job.stage = Stage.SENDING
        before = await self.existing(rt, token, job.owner_id)
        try:
            await rt.services.post(
                "agreements",
                self.bulk_path(job.owner_id),
                token,
                {"items": [r.item for r in sheet.rows]},
                idempotency_key=self._key(job.owner_id, sheet.rows),
                timeout_s=BULK_TIMEOUT_S,
            )
        except ServiceRefusal as refused:
            if refused.status not in (409, 422):
                job.problem = explain(str(refused.body.get("message", "")), refused.code)
            else:
                job.errors = self.refused_rows(refused.body, sheet.rows)
            job.stage = Stage.FAILED
            return
        ids = [str(r.item[self.id_field]) for r in sheet.rows]
        job.unchanged = sum(1 for i in ids if i in before)
        job.imported = len(ids) - job.unchanged
        job.stage = Stage.DONE
        log.info(
            f"{self.name} imported", job_id=job.job_id, new=job.imported, unchanged=job.unchanged
        )

    def _key(self, owner_id: str, rows: list[SheetRow]) -> str:
        """The same rows for the same owner: the same key (a repeat is answered as before)."""
        digest = hashlib.sha256(owner_id.encode())
        for r in rows:
            digest.update(str(r.item[self.id_field]).encode())
        return f"{self.name}-import-" + digest.hexdigest()[:40]


def choices(ref: Mapping[str, Any], name: str) -> Choices:
    """A reference vocabulary as the codes a column accepts, each by its labels too."""
    return Choices({c["code"]: list(c["labels"].values()) for c in ref.get(name, [])})


_FILE_PROBLEMS = (
    ("at most", N_("The file has more than %(0)s rows; split it into several files.")),
    ("empty", N_("The file is empty.")),
)


def _file_problem(refused: Invalid) -> tuple[str, tuple[str, ...]]:
    for needle, message_id in _FILE_PROBLEMS:
        if needle in refused.message:
            return message_id, (str(MAX_ROWS),)
    return N_("The file cannot be read: save it as XLSX (or CSV in UTF-8) and try again."), ()


def error_report(job: ImportJob) -> bytes:
    """The rows' errors as a spreadsheet, in the reader's language."""
    header = [i18n.gettext("Row"), i18n.gettext("Column"), i18n.gettext("Problem")]
    lines: list[list[Any]] = [
        [e.row or "", e.column, message(e.message_id, e.args)] for e in job.errors
    ]
    if job.problem:
        lines.insert(0, ["", "", message(*job.problem)])
    return to_xlsx([(i18n.gettext("Import errors"), header, lines)])


def message(message_id: str, args: tuple[str, ...]) -> str:
    text = i18n.gettext(message_id)
    return text % {str(i): a for i, a in enumerate(args)} if args else text


@dataclass(frozen=True)
class Picker:
    field: str  # the column it fills
    options: list[str]  # what the picker offers (Chinese labels)


def template(
    title: str,
    columns: Sequence[Column],
    pickers: Sequence[Picker],
    *,
    wide: frozenset[str] = frozenset({"title", "description"}),
    notes: Sequence[str] = (),
) -> bytes:
    """A list's template: its sheet first (Chinese headers, pickers on the coded columns),
    then how to fill it in, then the pickers' options (hidden)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    options = book.create_sheet("选项")
    guide = book.create_sheet(i18n.gettext("How to fill it in")[:31])
    sheet.append([c.header for c in columns])
    bold, wash = Font(bold=True), PatternFill("solid", fgColor="FDECEC")
    for n, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=n)
        cell.font = bold
        if column.required:
            cell.fill = wash
        letter = cell.column_letter
        sheet.column_dimensions[letter].width = 30 if column.field in wide else 16
    sheet.freeze_panes = "A2"
    fields = [c.field for c in columns]
    for n, picker in enumerate(pickers, start=1):
        letter = options.cell(row=1, column=n).column_letter
        for row, label in enumerate(picker.options, start=1):
            options.cell(row=row, column=n, value=label)
        index = fields.index(picker.field)
        target = sheet.cell(row=1, column=index + 1).column_letter
        rule = DataValidation(
            type="list", formula1=f"=选项!${letter}$1:${letter}${max(len(picker.options), 1)}",
            allow_blank=not columns[index].required,
        )  # fmt: skip
        rule.add(f"{target}2:{target}{MAX_ROWS + 1}")
        sheet.add_data_validation(rule)
    options.sheet_state = "hidden"
    guide.append([i18n.gettext("Column"), i18n.gettext("Required"), i18n.gettext("Example")])
    for column in columns:
        guide.append(
            [column.header, i18n.gettext("Yes") if column.required else "", column.example]
        )
    guide.append([])
    for note in notes:
        guide.append([note])
    guide.column_dimensions["A"].width = 20
    guide.column_dimensions["C"].width = 30
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
