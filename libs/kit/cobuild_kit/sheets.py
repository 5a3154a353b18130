"""Spreadsheets in and out: CSV or XLSX uploads as numbered rows, and exports with formula
injection neutralised. Communities keep their lists in Excel, so every service reads and
writes them the same way. openpyxl is blocking: call these in a thread."""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from collections.abc import Generator, Sequence
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from cobuild_kit.errors import Invalid
from cobuild_kit.rows import NumberedRow, RowError

__all__ = ["NumberedRow", "RowError", "read_rows", "safe_cell", "to_csv", "to_xlsx"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# Bounds of an upload: a hostile file must cost little before it is refused (it is parsed
# before any row is checked, and openpyxl and the csv module read whatever they are given).
MAX_COLUMNS = 64  # columns read from a row; a sheet's declared dimension is ignored
BLANK_ROWS = 10_000  # blank rows tolerated (trailing formatted rows), beyond the row limit
MAX_UNCOMPRESSED = 32 * 1024 * 1024  # bytes, all members of an XLSX together
MAX_SHARED_STRINGS = 16 * 1024 * 1024  # bytes of xl/sharedStrings.xml (read whole by openpyxl)
MAX_RATIO = 200  # uncompressed ÷ compressed, for a member over 1 MiB
MAX_MEMBERS = 1_000  # files inside an XLSX


def read_rows(
    data: bytes, *, required: Sequence[str], max_rows: int, field: str = "file"
) -> list[NumberedRow]:
    """The non-blank data rows of a CSV (UTF-8) or XLSX file. A file that cannot be read, lacks
    a required column or has too many rows is an `Invalid` naming `field`.

    Rows are streamed and reading stops at the first row past the limit (or past `BLANK_ROWS`
    blank rows), so a file costs memory in proportion to the rows kept, never to what it
    declares."""
    if not data:
        raise Invalid("the file is empty", field=field)
    source = _xlsx_rows(data, field) if data[:2] == b"PK" else _csv_rows(data, field)
    try:
        first = next(source, None)
        if first is None:
            raise Invalid("the file has no header row", field=field)
        header = [_text(h).strip().lower() for h in first[:MAX_COLUMNS]]
        missing = [c for c in required if c not in header]
        if missing:
            raise Invalid(f"missing column(s): {', '.join(missing)}", field=field)
        rows: list[NumberedRow] = []
        blank = 0
        for number, values in enumerate(source, start=2):
            cells = {h: _text(v).strip() for h, v in zip(header, values, strict=False) if h}
            if any(cells.values()):
                if len(rows) == max_rows:
                    raise Invalid(f"at most {max_rows} rows per file", field=field)
                rows.append((number, cells))
            else:
                blank += 1
                if blank > BLANK_ROWS:
                    raise Invalid(f"more than {BLANK_ROWS} blank rows", field=field)
        return rows
    finally:
        source.close()  # an XLSX generator closes its workbook


def _csv_rows(data: bytes, field: str) -> Generator[Sequence[Any], None, None]:
    # newline="": the csv module splits lines itself, so CR-only files (classic Mac, which
    # Excel still writes) read as well as LF and CRLF ones. Decoding is incremental too.
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        for values in reader:
            yield values[:MAX_COLUMNS]
    except UnicodeDecodeError as exc:
        raise Invalid("a CSV file must be UTF-8", field=field) from exc
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            limit = csv.field_size_limit()
            message = f"line {reader.line_num}: a value is longer than {limit} characters"
        else:
            message = f"line {reader.line_num}: not a readable CSV file: {exc}"
        raise Invalid(message, field=field) from exc


def _check_archive(data: bytes, field: str) -> None:
    """Refuse a zip bomb from its directory, before any member is inflated. zipfile stops
    a member at its declared size (and fails its CRC), so the declared sizes bound the work."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise Invalid(f"not a readable XLSX file: {exc}", field=field) from exc
    if len(members) > MAX_MEMBERS:
        raise Invalid(f"not a spreadsheet: more than {MAX_MEMBERS} parts", field=field)
    total = sum(m.file_size for m in members)
    if total > MAX_UNCOMPRESSED:
        raise Invalid(f"the file unpacks to more than {MAX_UNCOMPRESSED // 2**20} MiB", field=field)
    for m in members:
        if m.file_size > 2**20 and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            raise Invalid(f"the file is compressed more than {MAX_RATIO}:1", field=field)
        if m.filename.lower().endswith("sharedstrings.xml") and m.file_size > MAX_SHARED_STRINGS:
            raise Invalid(
                f"the file's text table is over {MAX_SHARED_STRINGS // 2**20} MiB", field=field
            )


# What openpyxl (and zipfile, zlib, expat under it) raise for a damaged or hostile file.
_XLSX_ERRORS = (zipfile.BadZipFile, KeyError, ValueError, TypeError, IndexError, OSError,
                EOFError, SyntaxError, zlib.error)  # fmt: skip


def _xlsx_rows(data: bytes, field: str) -> Generator[Sequence[Any], None, None]:
    _check_archive(data, field)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except _XLSX_ERRORS as exc:
        raise Invalid(f"not a readable XLSX file: {exc}", field=field) from exc
    try:
        sheet = book.worksheets[0]
        if isinstance(sheet, ReadOnlyWorksheet):
            sheet.reset_dimensions()  # the declared A1:XFD… would pad every row and add rows
        yield from sheet.iter_rows(min_row=1, min_col=1, max_col=MAX_COLUMNS, values_only=True)
    except _XLSX_ERRORS as exc:
        raise Invalid(f"not a readable XLSX file: {exc}", field=field) from exc
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
