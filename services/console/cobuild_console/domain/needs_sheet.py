"""The needs list's spreadsheet (需求清单导入): its columns with their Chinese headers, each
row read into an item of the agreements service's bulk command, and the service's per-item
refusals read back onto rows and columns. Pure: the file is read and written elsewhere.

Re-importing a file changes nothing: each row's need id is derived from the community and
the row's content, so a row sent again names a need that already says the same, and the
bulk command answers it as it stands (ARCHITECTURE.md, "Commands in, facts out")."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from cobuild_console.domain.list_sheet import (
    Choices,
    Column,
    ParsedSheet,
    RowError,
    SheetColumns,
    SheetRow,
    entry_id_of,
    repeated,
)
from cobuild_console.domain.list_sheet import refused_rows as refused_sheet_rows
from cobuild_console.domain.money import MoneyInputError, fen_from_yuan
from cobuild_console.domain.refusals import N_

__all__ = ["Choices", "ParsedSheet", "RowError", "SheetRow"]

COLUMNS: tuple[Column, ...] = (
    Column("title", "标题", True, "老旧小区楼道照明修缮"),
    Column("category", "类别", True, "幸福小区"),
    Column("kind", "类型", True, "实事"),
    Column("quantity", "数量", False, "1"),
    Column("quantity_unit", "数量单位", True, "项"),
    Column("funds_yuan", "资金（元）", False, "5000.00"),
    Column("wanted_by", "期望完成日期", True, "2026-12-31"),
    Column("beneficiaries", "受益人数", False, "120"),
    Column("visibility", "公开范围", False, "公开"),
    Column("description", "需求说明", False, ""),
)
SHEET = SheetColumns(
    COLUMNS, {"funds_fen": "funds_yuan", "资金": "funds_yuan", "资金(元)": "funds_yuan"}
)
BY_FIELD = SHEET.by_field
MAX_ROWS = 1000  # the bulk command's bound

NEED_ID_NAMESPACE = uuid.UUID("5b0c8f43-2f0c-4f7e-9a55-6f1d1f6b3c21")


def columns_of(header: Sequence[str]) -> dict[str, str]:
    """The file's headers (as read) → the item's fields; unknown headers are ignored."""
    return SHEET.columns_of(header)


def missing_columns(found: Mapping[str, str]) -> list[str]:
    return SHEET.missing(found)


def parse(
    rows: Sequence[tuple[int, Mapping[str, str]]],
    *,
    community_id: str,
    categories: Choices,
    kinds: Choices,
    visibility: Choices,
) -> ParsedSheet:
    """Every row as a bulk item, or the errors of every bad row (all rows are checked, so
    the worker fixes the file in one go)."""
    out = ParsedSheet()
    seen: dict[str, int] = {}
    for number, raw in rows:
        cells = SHEET.cells(raw)
        item, errors = _item(number, cells, categories, kinds, visibility)
        if errors:
            out.errors += errors
            continue
        need_id = need_id_of(community_id, item)
        first = seen.get(need_id)
        if first is not None:
            out.errors.append(repeated(number, first))
            continue
        seen[need_id] = number
        out.rows.append(SheetRow(number, {**item, "need_id": need_id}))
    return out


def need_id_of(community_id: str, item: Mapping[str, Any]) -> str:
    return entry_id_of(NEED_ID_NAMESPACE, community_id, item)


def _item(
    number: int,
    cells: Mapping[str, str],
    categories: Choices,
    kinds: Choices,
    visibility: Choices,
) -> tuple[dict[str, Any], list[RowError]]:
    errors: list[RowError] = []

    def bad(name: str, message_id: str, *args: str) -> None:
        errors.append(RowError(number, BY_FIELD[name].header, message_id, args))

    item: dict[str, Any] = {}
    for column in COLUMNS:
        if column.required and not cells.get(column.field):
            bad(column.field, N_("This field is required."))
    if errors:
        return item, errors
    item["title"] = cells["title"]
    item["description"] = cells.get("description", "")
    item["quantity_unit"] = cells["quantity_unit"]
    for name, choices, message_id in (
        ("category", categories, N_("Choose one of the listed categories.")),
        ("kind", kinds, N_("Choose one of the listed kinds.")),
    ):
        code = choices.code_of(cells[name])
        if code is None:
            bad(name, message_id)
        item[name] = code
    shown = cells.get("visibility", "")
    item["visibility"] = visibility.code_of(shown) if shown else "public"
    if item["visibility"] is None:
        bad("visibility", N_("Choose one of the listed options."))
    for name, default in (("quantity", 1), ("beneficiaries", 0)):
        text = cells.get(name, "")
        if not text:
            item[name] = default
        elif re.fullmatch(r"\d{1,9}", text):
            item[name] = int(text)
        else:
            bad(name, N_("Enter a whole number."))
    try:
        item["funds_fen"] = fen_from_yuan(cells.get("funds_yuan", ""))
    except MoneyInputError as refused:
        bad("funds_yuan", refused.reason)
    try:
        item["wanted_by"] = date.fromisoformat(cells["wanted_by"].replace("/", "-")).isoformat()
    except ValueError:
        bad("wanted_by", N_("Enter a date, such as 2026-05-01."))
    return item, errors


def refused_rows(refusal: Mapping[str, Any], rows: Sequence[SheetRow]) -> list[RowError]:
    """The bulk command's refusal (`items`: `{index, field, message}`) on the file's rows."""
    return refused_sheet_rows(
        refusal,
        rows,
        SHEET,
        id_field="need_id",
        edited=N_(
            "This row was imported before and the need has been edited since; "
            "change it on the need's page, or remove the row."
        ),
        renamed={"funds_fen": "funds_yuan"},
    )
