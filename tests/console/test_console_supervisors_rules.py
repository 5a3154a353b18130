"""The supervisors' pages' pure rules: the league's order with shared ranks, the overdue
list's filters, and the parties sheet read into the agreements service's columns."""

from __future__ import annotations

from typing import Any

from cobuild_console.domain.parties_sheet import (
    COLUMNS,
    header_map,
    missing_columns,
    service_error,
    service_rows,
    vocabulary,
)
from cobuild_console.domain.supervision import OverdueFilters, choices, league


def _unit(name: str, fulfilment: str | None, on_time: str | None) -> dict[str, Any]:
    return {
        "unit_id": name,
        "name": name,
        "agreements_count": 1,
        "figures": {"fulfilment_rate": fulfilment, "on_time_rate": on_time},
    }


def test_the_league_orders_by_fulfilment_then_on_time_and_ties_share_a_rank() -> None:
    rows = league(
        [
            _unit("丁", None, None),  # nothing signed yet: last, below a 0%
            _unit("乙", "0.5000", "0.2500"),
            _unit("甲", "0.5000", "0.7500"),
            _unit("丙", "0.5000", "0.2500"),
            _unit("戊", "0.0000", "0.0000"),
        ]
    )
    assert [(r.rank, r.name) for r in rows] == [
        (1, "甲"),
        (2, "丙"),  # equal rates: the same rank, by name
        (2, "乙"),
        (4, "戊"),
        (5, "丁"),
    ]


def test_the_overdue_filters_keep_what_they_name() -> None:
    rows = [
        {"street_id": "s1", "community_id": "c1", "unit_id": "u1", "category": "a",
         "community_name": "乙社区", "unit_name": "单位一"},
        {"street_id": "s1", "community_id": "c2", "unit_id": "u1", "category": "b",
         "community_name": "甲社区", "unit_name": "单位一"},
        {"street_id": "s2", "community_id": "c3", "unit_id": "u2", "category": "a",
         "community_name": "丙社区", "unit_name": "单位二"},
    ]  # fmt: skip
    assert [r["community_id"] for r in rows if OverdueFilters().keeps(r)] == ["c1", "c2", "c3"]
    f = OverdueFilters(street="s1", category="a")
    assert [r["community_id"] for r in rows if f.keeps(r)] == ["c1"]
    assert f.query() == {"street": "s1", "category": "a"}
    assert [r["community_id"] for r in rows if OverdueFilters(unit="u1").keeps(r)] == ["c1", "c2"]
    # By name as text sorts (code points: 丙 < 乙 < 甲), then id.
    assert choices(rows, "community_id", "community_name") == [
        ("c3", "丙社区"),
        ("c1", "乙社区"),
        ("c2", "甲社区"),
    ]
    assert choices(rows, "unit_id", "unit_name") == [("u1", "单位一"), ("u2", "单位二")]


KINDS = vocabulary(
    [
        {"code": "street", "labels": {"zh-CN": "街道", "en": "Street"}},
        {"code": "community", "labels": {"zh-CN": "社区", "en": "Community"}},
        {"code": "unit", "labels": {"zh-CN": "共建单位", "en": "Co-building unit"}},
    ]
)
UNIT_TYPES = vocabulary([{"code": "enterprise", "labels": {"zh-CN": "企业", "en": "Enterprise"}}])
HEADERS = {
    "kind": "类型",
    "name": "名称",
    "code": "编码",
    "parent": "上级编码",
    "unit_type": "单位类型",
    "paired_communities": "结对社区编码（多个用;分隔）",
}


def test_a_sheet_with_chinese_headers_and_names_becomes_the_services_columns() -> None:
    columns = header_map(HEADERS)
    assert {columns[h.lower()] for h in HEADERS.values()} == {c for c, _ in COLUMNS}
    assert columns["kind"] == "kind" and columns["type"] == "kind"  # English headers too
    rows = [
        (2, {"类型": "社区", "名称": "新华里社区", "编码": "C-XH", "上级编码": "S1"}),
        (4, {"类型": "Co-building unit", "名称": "区医院", "单位类型": "企业",
             "上级编码": "D1", "结对社区编码（多个用;分隔）": "C-XH;C1"}),
    ]  # fmt: skip
    found, errors = service_rows(rows, columns, KINDS, UNIT_TYPES)
    assert errors == []
    assert found == [
        (2, {"kind": "community", "name": "新华里社区", "code": "C-XH", "parent": "S1"}),
        (4, {"kind": "unit", "name": "区医院", "unit_type": "enterprise", "parent": "D1",
             "paired_communities": "C-XH;C1"}),
    ]  # fmt: skip


def test_a_bad_row_is_named_by_its_sheet_row_and_column() -> None:
    columns = header_map(HEADERS)
    rows = [
        (3, {"类型": "楼栋", "名称": "一号楼"}),
        (5, {"类型": "社区", "名称": ""}),
        (6, {"类型": "共建单位", "名称": "某单位", "单位类型": "合作社"}),
    ]
    _, errors = service_rows(rows, columns, KINDS, UNIT_TYPES)
    assert [(e.row, e.column) for e in errors] == [(3, "kind"), (5, "name"), (6, "unit_type")]
    assert errors[0].args == ("楼栋",)
    assert missing_columns(columns, ["名称", "编码"]) == ["kind"]


def test_the_services_row_errors_come_back_at_the_sheets_rows_in_the_catalogues_words() -> None:
    sheet_rows = {2: 3, 3: 7}  # the service's row (its file: header at 1) → the sheet's

    def number_of(row: int) -> int:
        return sheet_rows[row]

    e = service_error(number_of, 3, "parent", "no party has code 'NO-SUCH'")
    assert (e.row, e.column, e.message_id, e.args) == (
        7, "parent", "No party has the code %(0)s.", ("NO-SUCH",),
    )  # fmt: skip
    e = service_error(number_of, 2, "code", "code 'C1' is already used by another party")
    assert e.args == ("C1",) and "already used" in e.message_id
    e = service_error(number_of, 2, "parent", "a community belongs under a street, not unit")
    assert e.message_id.startswith("The parent does not fit")
    e = service_error(number_of, 2, "name", "something no one foresaw")
    assert e.args == ("something no one foresaw",)
