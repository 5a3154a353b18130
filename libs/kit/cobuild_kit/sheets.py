"""Spreadsheets in and out: CSV or XLSX uploads as numbered rows, and exports with formula
injection neutralised. Communities keep their lists in Excel, so every service reads and
writes them the same way. openpyxl is blocking: call these in a thread."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from cobuild_kit.errors import Invalid

# A data row as the spreadsheet numbers it (header = row 1, data from row 2), by lower-case column.
NumberedRow = tuple[int, dict[str, str]]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class RowError:
    """One problem of an import, for the per-row report."""

    row: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


def read_rows(
    data: bytes, *, required: Sequence[str], max_rows: int, field: str = "file"
) -> list[NumberedRow]:
    """The non-blank data rows of a CSV (UTF-8) or XLSX file. A file that cannot be read, lacks
    a required column or has too many rows is an `Invalid` naming `field`."""
    if not data:
        raise Invalid("the file is empty", field=field)
    raw = _xlsx_rows(data, field) if data[:2] == b"PK" else _csv_rows(data, field)
    if not raw:
        raise Invalid("the file has no header row", field=field)
    header = [_text(h).strip().lower() for h in raw[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise Invalid(f"missing column(s): {', '.join(missing)}", field=field)
    rows: list[NumberedRow] = []
    for number, values in enumerate(raw[1:], start=2):
        cells = {h: _text(v).strip() for h, v in zip(header, values, strict=False) if h}
        if any(cells.values()):
            rows.append((number, cells))
    if len(rows) > max_rows:
        raise Invalid(f"at most {max_rows} rows per file", field=field)
    return rows


def _csv_rows(data: bytes, field: str) -> list[list[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid("a CSV file must be UTF-8", field=field) from exc
    return list(csv.reader(io.StringIO(text)))


def _xlsx_rows(data: bytes, field: str) -> list[list[Any]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise Invalid(f"not a readable XLSX file: {exc}", field=field) from exc
    try:
        return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def _text(value: Any) -> str:
    """A cell as the text a person typed: whole numbers without '.0' (phones typed as numbers),
    dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        midnight = value.time() == datetime.min.time()
        return value.date().isoformat() if midnight else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def safe_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading apostrophe.

    Numbers stay numbers (a negative number is data, not a formula)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _xlsx_cell(value: Any) -> Any:
    """XLSX cannot hold control characters (a name may carry them): each becomes U+FFFD."""
    value = safe_cell(value)
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value) if isinstance(value, str) else value


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")  # BOM: Excel opens UTF-8 (Chinese names) right


def to_xlsx(sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]]]]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for title, header, rows in sheets:
        ws = wb.create_sheet(title=title[:31])
        ws.append([_xlsx_cell(h) for h in header])
        for row in rows:
            ws.append([_xlsx_cell(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
