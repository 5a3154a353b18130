"""The resources list's spreadsheet (资源清单导入): its columns with their Chinese headers, each
row read into an item of the agreements service's bulk command (POST
/units/{unit_id}/resources/bulk), and the service's per-item refusals read back onto rows and
columns. Pure: the file is read and written elsewhere.

A resource may be limited to some of the unit's paired communities: the column names them (by
name, as the template's picker offers them, or by id), separated by 、 or commas; empty means
any community. Each row's resource id is derived from the unit and the row's content, so
importing the same file again changes nothing."""

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

COLUMNS: tuple[Column, ...] = (
    Column("title", "标题", True, "电工志愿服务队"),
    Column("category", "类别", True, "幸福小区"),
    Column("kind", "类型", True, "实事"),
    Column("capacity", "可提供数量", False, "10"),
    Column("capacity_unit", "数量单位", True, "次"),
    Column("funds_yuan", "资金（元）", False, "2000.00"),
    Column("available_from", "起始日期", True, "2026-03-01"),
    Column("available_until", "截止日期", True, "2026-12-31"),
    Column("community_ids", "限定社区", False, ""),
    Column("description", "资源说明", False, ""),
)
SHEET = SheetColumns(
    COLUMNS,
    {
        "funds_fen": "funds_yuan",
        "资金": "funds_yuan",
        "资金(元)": "funds_yuan",
        "数量": "capacity",
        "开始日期": "available_from",
        "communities": "community_ids",
    },
)
BY_FIELD = SHEET.by_field
MAX_ROWS = 1000  # the bulk command's bound

RESOURCE_ID_NAMESPACE = uuid.UUID("0d7c7f7e-3a55-4c1e-8a4f-2b9e6d1c5a90")
_SEPARATORS = re.compile(r"[、,，;；\n]+")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def columns_of(header: Sequence[str]) -> dict[str, str]:
    return SHEET.columns_of(header)


def missing_columns(found: Mapping[str, str]) -> list[str]:
    return SHEET.missing(found)


def resource_id_of(unit_id: str, item: Mapping[str, Any]) -> str:
    return entry_id_of(RESOURCE_ID_NAMESPACE, unit_id, item)


def parse(
    rows: Sequence[tuple[int, Mapping[str, str]]],
    *,
    unit_id: str,
    categories: Choices,
    kinds: Choices,
    communities: Mapping[str, str],
) -> ParsedSheet:
    """Every row as a bulk item, or the errors of every bad row (all rows are checked, so
    the administrator fixes the file in one go). `communities`: the unit's paired
    communities, id → name."""
    out = ParsedSheet()
    seen: dict[str, int] = {}
    for number, raw in rows:
        item, errors = _item(number, SHEET.cells(raw), categories, kinds, communities)
        if errors:
            out.errors += errors
            continue
        resource_id = resource_id_of(unit_id, item)
        first = seen.get(resource_id)
        if first is not None:
            out.errors.append(repeated(number, first))
            continue
        seen[resource_id] = number
        out.rows.append(SheetRow(number, {**item, "resource_id": resource_id}))
    return out


def _item(
    number: int,
    cells: Mapping[str, str],
    categories: Choices,
    kinds: Choices,
    communities: Mapping[str, str],
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
    item["capacity_unit"] = cells["capacity_unit"]
    for name, choices, message_id in (
        ("category", categories, N_("Choose one of the listed categories.")),
        ("kind", kinds, N_("Choose one of the listed kinds.")),
    ):
        code = choices.code_of(cells[name])
        if code is None:
            bad(name, message_id)
        item[name] = code
    text = cells.get("capacity", "")
    if not text:
        item["capacity"] = 1
    elif re.fullmatch(r"\d{1,9}", text) and int(text) >= 1:
        item["capacity"] = int(text)
    else:
        bad("capacity", N_("Enter a whole number of at least 1."))
    try:
        item["funds_fen"] = fen_from_yuan(cells.get("funds_yuan", ""))
    except MoneyInputError as refused:
        bad("funds_yuan", refused.reason)
    for name in ("available_from", "available_until"):
        try:
            item[name] = date.fromisoformat(cells[name].replace("/", "-")).isoformat()
        except ValueError:
            bad(name, N_("Enter a date, such as 2026-05-01."))
    dated = "available_from" in item and "available_until" in item
    if dated and item["available_until"] < item["available_from"]:
        bad("available_until", N_("The end date cannot be before the start date."))
    item["community_ids"], unknown = _communities(cells.get("community_ids", ""), communities)
    if unknown:
        bad(
            "community_ids",
            N_("Not a community paired with the unit: %(0)s. Choose from the list."),
            "、".join(unknown),
        )
    return item, errors


def _communities(text: str, paired: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """The named communities' ids in the order named (each once), and the names not found."""
    by_name = {name.strip().lower(): cid for cid, name in paired.items()}
    ids: list[str] = []
    unknown: list[str] = []
    for part in (p.strip() for p in _SEPARATORS.split(text)):
        if not part:
            continue
        cid = (
            part.lower()
            if _UUID.match(part) and part.lower() in paired
            else by_name.get(part.lower())
        )
        if cid is None:
            unknown.append(part)
        elif cid not in ids:
            ids.append(cid)
    return ids, unknown


def refused_rows(refusal: Mapping[str, Any], rows: Sequence[SheetRow]) -> list[RowError]:
    """The bulk command's refusal (`items`: `{index, field, message}`) on the file's rows."""
    return refused_sheet_rows(
        refusal,
        rows,
        SHEET,
        id_field="resource_id",
        edited=N_(
            "This row was imported before and the resource has been changed since; "
            "change it on the resource's page, or remove the row."
        ),
        renamed={"funds_fen": "funds_yuan"},
    )
