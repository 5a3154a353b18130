"""Member rosters: validating one member's details, and reading a CSV/XLSX import file
into rows with a per-row error report (pure: bytes in, drafts and errors out)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from openpyxl import load_workbook

PHONE_RE = re.compile(r"^1\d{10}$")  # a mainland mobile number
COLUMNS = ("name", "phone", "unit_id", "community_id", "grid_id")
REQUIRED = ("name", "phone", "unit_id", "community_id")
MAX_ROWS = 10_000


@dataclass(frozen=True)
class MemberDraft:
    name: str
    phone: str
    unit_id: UUID
    community_id: UUID  # residence community
    grid_id: UUID | None = None
    show_full_name: bool = False


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based data row (the header is row 1 of the file, so data starts at 2)
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


def normalise_phone(phone: str) -> str:
    return re.sub(r"[\s-]", "", phone.strip()).removeprefix("+86")


def check_name(name: str) -> str | None:
    name = name.strip()
    if not name:
        return "is required"
    if len(name) > 50:
        return "is longer than 50 characters"
    return None


def check_phone(phone: str) -> str | None:
    return None if PHONE_RE.match(phone) else "must be an 11-digit mobile number starting with 1"


def _uuid(value: str) -> UUID:
    return UUID(value.strip())


def draft_from_row(index: int, row: Mapping[str, str]) -> tuple[MemberDraft | None, list[RowError]]:
    errors: list[RowError] = []
    for col in REQUIRED:
        if not (row.get(col) or "").strip():
            errors.append(RowError(index, col, "is required"))
    if errors:
        return None, errors
    name = row["name"].strip()
    phone = normalise_phone(row["phone"])
    if problem := check_name(name):
        errors.append(RowError(index, "name", problem))
    if problem := check_phone(phone):
        errors.append(RowError(index, "phone", problem))
    ids: dict[str, UUID | None] = {}
    for col in ("unit_id", "community_id", "grid_id"):
        raw = (row.get(col) or "").strip()
        try:
            ids[col] = _uuid(raw) if raw else None
        except ValueError:
            errors.append(RowError(index, col, "is not a UUID"))
    if errors:
        return None, errors
    unit_id, community_id = ids["unit_id"], ids["community_id"]
    assert unit_id is not None and community_id is not None
    return MemberDraft(name, phone, unit_id, community_id, ids["grid_id"]), []


def read_table(content: bytes, filename: str) -> list[dict[str, str]]:
    """Rows of a CSV or XLSX file as dicts keyed by the (lower-cased) header."""
    if filename.lower().endswith(".xlsx") or content[:2] == b"PK":
        raw_rows = _xlsx_rows(content)
    else:
        text = content.decode("utf-8-sig")
        raw_rows = list(csv.reader(io.StringIO(text)))
    if not raw_rows:
        raise ValueError("the file is empty")
    header = [h.strip().lower() for h in raw_rows[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ValueError(f"the header lacks columns {missing}; expected {list(COLUMNS)}")
    rows = [dict(zip(header, r, strict=False)) for r in raw_rows[1:] if any(c.strip() for c in r)]
    if len(rows) > MAX_ROWS:
        raise ValueError(f"more than {MAX_ROWS} rows")
    return rows


def _xlsx_rows(content: bytes) -> list[list[str]]:
    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # phones typed as numbers
    return str(value)


def parse_roster(rows: Iterable[Mapping[str, str]]) -> tuple[list[MemberDraft], list[RowError]]:
    """Every row checked; duplicates of a phone inside the file are errors too."""
    drafts: list[MemberDraft] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for offset, row in enumerate(rows):
        index = offset + 2
        draft, row_errors = draft_from_row(index, row)
        errors.extend(row_errors)
        if draft is None:
            continue
        if draft.phone in seen:
            errors.append(RowError(index, "phone", f"repeats row {seen[draft.phone]}"))
            continue
        seen[draft.phone] = index
        drafts.append(draft)
    return drafts, errors
