"""Reading an uploaded sheet (CSV or XLSX) into numbered rows, and the per-row error report.

Rows are numbered as a spreadsheet shows them: the header is row 1, data starts at row 2.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cobuild_kit.errors import CobuildError, Invalid
from openpyxl import load_workbook
from pydantic import ValidationError

Row = tuple[int, dict[str, str]]


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str


class ImportRejected(CobuildError):
    """A file with any bad row imports nothing; the report names every bad row and field."""

    status = 422
    code = "import_rejected"

    def __init__(self, errors: Sequence[RowError]) -> None:
        super().__init__(f"{len(errors)} error(s) in the file; nothing was imported", field="file")
        self.errors = list(errors)

    def body(self) -> dict[str, Any]:
        return {
            "error": self.code,
            "message": self.message,
            "field": self.field,
            "rows": [e.__dict__ for e in self.errors],
        }


def read_table(data: bytes, required: Sequence[str], max_rows: int) -> list[Row]:
    """Blocking (openpyxl): call it in a thread."""
    if not data:
        raise Invalid("the file is empty", field="file")
    raw = _xlsx_rows(data) if data[:2] == b"PK" else _csv_rows(data)
    if not raw:
        raise Invalid("the file has no header row", field="file")
    header = [_cell(h).strip().lower() for h in raw[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise Invalid(f"missing column(s): {', '.join(missing)}", field="file")
    rows: list[Row] = []
    for number, values in enumerate(raw[1:], start=2):
        cells = {h: _cell(v).strip() for h, v in zip(header, values, strict=False) if h}
        if any(cells.values()):
            rows.append((number, cells))
    if len(rows) > max_rows:
        raise Invalid(f"at most {max_rows} rows per file", field="file")
    return rows


def _csv_rows(data: bytes) -> list[list[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid("a CSV file must be UTF-8", field="file") from exc
    return list(csv.reader(io.StringIO(text)))


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise Invalid(f"not a readable XLSX file: {exc}", field="file") from exc
    try:
        sheet = book.worksheets[0]
        return [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def row_errors(row: int, exc: ValidationError | CobuildError) -> list[RowError]:
    """A row's failure, with the column it names (`body.` prefixes are dropped)."""
    if isinstance(exc, ValidationError):
        return [
            RowError(row, ".".join(str(p) for p in e["loc"]) or "row", e["msg"])
            for e in exc.errors()
        ]
    field = (exc.field or "row").removeprefix("body.")
    return [RowError(row, field, exc.message)]


__all__ = ["ImportRejected", "Row", "RowError", "read_table", "row_errors"]
