"""The resources list's import sheet, pure: a row becomes a bulk item whose id comes from the
unit and the row's content, every bad row is named with its column, the paired communities
are taken by name, and the service's per-item refusals land on the file's rows."""

from __future__ import annotations

from cobuild_console.domain.list_sheet import Choices, SheetRow
from cobuild_console.domain.resources_sheet import (
    columns_of,
    missing_columns,
    parse,
    refused_rows,
    resource_id_of,
)

CATEGORIES = Choices({"happy_compound": ["幸福小区", "Happy compound"]})
KINDS = Choices({"task": ["实事", "Practical task"], "venue": ["场地", "Venue"]})
PAIRED = {"0d7c7f7e-3a55-4c1e-8a4f-2b9e6d1c5a91": "幸福里社区", "c2": "安居苑社区"}
GOOD = {"标题": "医院义诊进社区", "类别": "幸福小区", "类型": "实事", "可提供数量": "12",
        "数量单位": "次", "资金（元）": "3000.5", "起始日期": "2026-03-01",
        "截止日期": "2026/12/31", "限定社区": "幸福里社区、安居苑社区"}  # fmt: skip


def _rows(*rows: dict[str, str]) -> list[tuple[int, dict[str, str]]]:
    return [(n, r) for n, r in enumerate(rows, start=2)]


def test_a_row_becomes_a_bulk_item_with_an_id_from_its_content() -> None:
    sheet = parse(_rows(GOOD), unit_id="u1", categories=CATEGORIES, kinds=KINDS, communities=PAIRED)
    assert not sheet.errors
    item = sheet.rows[0].item
    assert item == {
        "title": "医院义诊进社区", "description": "", "capacity_unit": "次", "category": "happy_compound",
        "kind": "task", "capacity": 12, "funds_fen": 300050, "available_from": "2026-03-01",
        "available_until": "2026-12-31",
        "community_ids": ["0d7c7f7e-3a55-4c1e-8a4f-2b9e6d1c5a91", "c2"],
        "resource_id": item["resource_id"],
    }  # fmt: skip
    content = {k: v for k, v in item.items() if k != "resource_id"}
    assert resource_id_of("u1", content) == item["resource_id"]
    assert resource_id_of("u2", content) != item["resource_id"]  # another unit's row
    # The same row read again (as from the same file): the same id.
    again = parse(_rows(GOOD), unit_id="u1", categories=CATEGORIES, kinds=KINDS, communities=PAIRED)
    assert again.rows[0].item["resource_id"] == item["resource_id"]


def test_every_bad_row_is_named_with_its_column() -> None:
    bad = {**GOOD, "类别": "航天", "截止日期": "年底", "可提供数量": "0", "限定社区": "别处社区"}
    late = {**GOOD, "起始日期": "2026-12-31", "截止日期": "2026-03-01", "限定社区": ""}
    empty = {**GOOD, "标题": "", "数量单位": ""}
    sheet = parse(
        _rows(GOOD, bad, late, empty, GOOD),
        unit_id="u1", categories=CATEGORIES, kinds=KINDS, communities=PAIRED,
    )  # fmt: skip
    found = sorted((e.row, e.column, e.message_id) for e in sheet.errors)
    assert [(r, c) for r, c, _ in found] == [
        (3, "可提供数量"), (3, "截止日期"), (3, "类别"), (3, "限定社区"),
        (4, "截止日期"), (5, "数量单位"), (5, "标题"), (6, ""),
    ]  # fmt: skip
    unknown = next(e for e in sheet.errors if e.column == "限定社区")
    assert unknown.args == ("别处社区",)
    assert next(e for e in sheet.errors if e.row == 6).args == ("2",)  # repeats row 2
    assert [r.row for r in sheet.rows] == [2]


def test_headers_in_chinese_or_english_and_the_required_ones() -> None:
    assert missing_columns(columns_of(["标题", "类别", "类型", "数量单位", "起始日期"])) == [
        "截止日期"
    ]
    english = ["title", "category", "kind", "capacity_unit", "available_from", "available_until"]
    assert missing_columns(columns_of(english)) == []


def test_the_services_refusals_land_on_the_rows_and_columns() -> None:
    rows = [SheetRow(2, {}), SheetRow(5, {})]
    refusal = {
        "error": "bulk_rejected",
        "items": [
            {"index": 1, "field": "body.items.1.funds_fen", "message": "Input should be less than or equal to 100"},
            {"index": 0, "field": "body.items.0.available_until",
             "message": "available_until 2025-02-01 is before today (2025-03-01)"},
        ],
    }  # fmt: skip
    errors = refused_rows(refusal, rows)
    assert [(e.row, e.column) for e in errors] == [(2, "截止日期"), (5, "资金（元）")]
    assert errors[0].message_id == "The date cannot be before today."
    conflict = {"error": "conflict", "items": [{"index": 0, "field": "body.items.0.resource_id",
                                                "message": "exists with other content"}]}  # fmt: skip
    assert "changed since" in refused_rows(conflict, rows)[0].message_id
    whole = refused_rows({"error": "forbidden", "message": "may not offer resources"}, rows)
    assert [(e.row, e.column) for e in whole] == [(0, "")]
