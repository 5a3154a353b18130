"""The community worker's pages' pure rules: the needs list's filters and sort, the import
sheet's rows and refusals, a draft against the one it answers, the matcher's reasons, and
the check-in QR code's address."""

from __future__ import annotations

from typing import Any

from cobuild_console.domain.drafts import Change, compare, previous_round
from cobuild_console.domain.matches import explain_reason
from cobuild_console.domain.needs_list import NeedsQuery, select
from cobuild_console.domain.needs_sheet import Choices, SheetRow, need_id_of, parse, refused_rows
from cobuild_console.usecases.activities import check_in_url

CATEGORIES = Choices({"happy_compound": ["幸福小区", "Happy compound"]})
KINDS = Choices({"task": ["实事", "Practical task"], "venue": ["场地", "Venue"]})
VISIBILITY = Choices({"public": ["公开", "Public"], "private": ["不公开", "Not published"]})


def _need(title: str, funds: int, wanted: str, category: str = "happy_compound") -> dict[str, Any]:
    return {"title": title, "funds_fen": funds, "wanted_by": wanted, "status": "published",
            "category": category, "kind": "task", "published_at": wanted}  # fmt: skip


def test_the_needs_list_filters_sorts_and_ignores_unknown_values() -> None:
    needs = [_need("乙", 500, "2026-06-01"), _need("甲", 900, "2026-05-01"),
             _need("丙", 100, "2026-07-01", "peoples_welfare")]  # fmt: skip
    query = NeedsQuery.of(status=None, category="happy_compound", kind="nonsense",
                          sort="-funds", offset=0, statuses=("published",),
                          categories=("happy_compound", "peoples_welfare"), kinds=("task",))  # fmt: skip
    assert query.kind == ""  # an edited URL falls back, never an error
    page = select(needs, query)
    assert [n["title"] for n in page.items] == ["甲", "乙"] and page.total == 2
    assert query.params() == {"category": "happy_compound", "sort": "-funds"}
    by_date = select(needs, NeedsQuery())
    assert [n["title"] for n in by_date.items] == ["甲", "乙", "丙"]


def _rows(*rows: dict[str, str]) -> list[tuple[int, dict[str, str]]]:
    return [(n, r) for n, r in enumerate(rows, start=2)]


GOOD = {"标题": "楼道照明", "类别": "幸福小区", "类型": "实事", "数量": "2", "数量单位": "项",
        "资金（元）": "1,200.5", "期望完成日期": "2026-12-31", "受益人数": "", "公开范围": "",
        "需求说明": ""}  # fmt: skip


def test_a_sheet_row_becomes_a_bulk_item_with_an_id_from_its_content() -> None:
    sheet = parse(_rows(GOOD), community_id="c1", categories=CATEGORIES, kinds=KINDS,
                  visibility=VISIBILITY)  # fmt: skip
    assert not sheet.errors
    item = sheet.rows[0].item
    assert item["funds_fen"] == 120050 and item["category"] == "happy_compound"
    assert item["kind"] == "task" and item["visibility"] == "public" and item["beneficiaries"] == 0
    again = parse(_rows(GOOD), community_id="c1", categories=CATEGORIES, kinds=KINDS,
                  visibility=VISIBILITY)  # fmt: skip
    assert again.rows[0].item["need_id"] == item["need_id"]  # the same file: the same ids
    other = {k: v for k, v in item.items() if k != "need_id"}
    assert need_id_of("c2", other) != item["need_id"]


def test_every_bad_row_is_named_with_its_column_and_a_repeat_too() -> None:
    bad = {**GOOD, "期望完成日期": "下个月", "资金（元）": "12.345", "类别": "未知"}
    sheet = parse(_rows(GOOD, bad, GOOD), community_id="c1", categories=CATEGORIES,
                  kinds=KINDS, visibility=VISIBILITY)  # fmt: skip
    found = {(e.row, e.column) for e in sheet.errors}
    assert found == {(3, "期望完成日期"), (3, "资金（元）"), (3, "类别"), (4, "")}
    repeat = next(e for e in sheet.errors if e.row == 4)
    assert repeat.args == ("2",)


def test_the_services_refusal_lands_on_the_files_rows() -> None:
    rows = [SheetRow(2, {}), SheetRow(5, {})]
    refusal = {"error": "bulk_rejected", "items": [
        {"index": 1, "field": "body.items.1.wanted_by", "message": "wanted_by 2001-01-01 is before today (2026-05-01)"},
        {"index": 0, "field": "body.items.0.funds_fen", "message": "Input should be less than or equal to 1000"},
    ]}  # fmt: skip
    errors = refused_rows(refusal, rows)
    assert [(e.row, e.column) for e in errors] == [(2, "资金（元）"), (5, "期望完成日期")]
    assert errors[1].message_id == "The date cannot be before today."


def _item(cid: str, title: str, funds: int) -> dict[str, Any]:
    return {"commitment_id": cid, "title": title, "funds_fen": funds, "deadline": "2026-09-01",
            "obligor_party_id": "u", "responsible_title": "主任"}  # fmt: skip


def test_a_counter_is_diffed_against_the_draft_it_answers() -> None:
    v1 = {"version": 1, "term_start": "2026-01-01", "term_end": "2026-12-31",
          "items": [_item("a", "讲座", 100), _item("b", "义诊", 0)]}  # fmt: skip
    v2 = {"version": 2, "counters_version": 1, "term_start": "2026-01-01",
          "term_end": "2027-06-30", "items": [_item("a", "讲座", 900), _item("c", "培训", 0)]}  # fmt: skip
    assert previous_round([v1, v2], v2) is v1
    diff = compare(v1, v2)
    assert [(d.change, d.item["title"]) for d in diff.items] == [
        (Change.CHANGED, "讲座"), (Change.ADDED, "培训"), (Change.REMOVED, "义诊")]  # fmt: skip
    assert [(f.name, f.before, f.after) for f in diff.items[0].fields] == [("funds_fen", 100, 900)]
    assert diff.terms.changed and diff.changed
    assert not compare(v1, {**v1, "version": 3}).changed


def test_the_matchers_reasons_are_catalogue_messages() -> None:
    assert explain_reason("capacity 5 covers quantity 2") == (
        "Its capacity (%(0)s) covers the quantity asked (%(1)s)", ("5", "2"))  # fmt: skip
    assert explain_reason("the unit is paired with the community")[0] == "Paired with our community"
    assert explain_reason("something new")[1] == ("something new",)


def test_the_check_in_qr_code_uses_the_public_url() -> None:
    url = check_in_url("https://gongjian.example.cn", "a-1", "123456")
    assert url == "https://gongjian.example.cn/m/checkin?activity=a-1&token=123456"
