"""Point rules and caps (pure domain)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from cobuild_kit.errors import Conflict, Invalid
from cobuild_kit.sheets import read_rows
from cobuild_points.domain import activities, wishes
from cobuild_points.domain.chain import EntryContent, entry_hash, genesis_hash
from cobuild_points.domain.names import public_name
from cobuild_points.domain.roster import MAX_ROWS, REQUIRED, parse_roster
from cobuild_points.domain.rules import CapUsage, compute_award, rule_set_for_new_year
from cobuild_points.store import rulebook

D = Decimal
RS = rulebook.by_version("2026-v1")


def test_per_hour_rule_without_caps() -> None:
    award = compute_award(RS, RS.rule("activity_attendance"), D("3.5"), CapUsage())
    assert (award.points, award.capped, award.cap_reason) == (D("7.00"), False, None)


def test_flat_rule_ignores_hours() -> None:
    assert compute_award(RS, RS.rule("wish_fulfilled"), None, CapUsage()).points == D("5.00")


def test_per_hour_rule_needs_hours() -> None:
    with pytest.raises(ValueError, match="needs positive hours"):
        RS.rule("task").amount(None)


def test_daily_cap_cuts_and_says_so() -> None:
    # 2026-v1: task 3/h, daily cap 20; 15 already earned that day leaves 5.
    award = compute_award(RS, RS.rule("task"), D("3"), CapUsage(day=D("15")))
    assert award.points == D("5.00") and award.capped and award.cap_reason == "daily cap"
    assert "capped by the daily cap (9.00 → 5.00)" in award.reason_suffix


def test_per_activity_cap() -> None:
    award = compute_award(RS, RS.rule("activity_skilled"), D("5"), CapUsage())  # 15 > 12
    assert award.points == D("12.00") and award.cap_reason == "per-activity cap"


def test_category_year_cap_and_exhausted_caps() -> None:
    award = compute_award(RS, RS.rule("wish_fulfilled"), None, CapUsage(category_year=D("58")))
    assert award.points == D("2.00") and award.cap_reason == "wish yearly cap"
    none_left = compute_award(RS, RS.rule("task"), D("1"), CapUsage(day=D("25")))
    assert none_left.points == D("0.00") and none_left.capped


def test_tightest_cap_wins() -> None:
    award = compute_award(
        RS, RS.rule("task"), D("4"), CapUsage(day=D("10"), category_year=D("295"))
    )
    assert award.points == D("5.00") and award.cap_reason == "task yearly cap"


def test_rule_set_versions_per_year() -> None:
    sets = list(rulebook.shipped())
    assert rule_set_for_new_year(sets, 2025).version == "2025-v1"
    assert rule_set_for_new_year(sets, 2026).version == "2026-v1"
    assert rule_set_for_new_year(sets, 2030).version == "2026-v1"
    with pytest.raises(LookupError):
        rule_set_for_new_year(sets, 2020)
    assert rulebook.by_version("2025-v1").rule("task").per_hour == D("2.00")


def _content(points: str) -> EntryContent:
    mid = uuid4()
    return EntryContent(
        entry_id=uuid4(), member_id=mid, year=2026, seq=1, kind="award", points=D(points),
        reason="r", cause_event_id=uuid4(), rule_code="task", rule_set_version="2026-v1",
        community_id=uuid4(), unit_id=uuid4(), business_date=date(2026, 3, 1), capped=False,
        reverses_entry_id=None, recorded_at=datetime(2026, 3, 1, tzinfo=UTC),
    )  # fmt: skip


def test_hash_covers_content_and_previous_hash() -> None:
    c = _content("6.00")
    genesis = genesis_hash(c.member_id, 2026)
    h = entry_hash(genesis, c)
    assert entry_hash(genesis, c) == h
    assert entry_hash("x" * 64, c) != h
    from dataclasses import replace

    assert entry_hash(genesis, replace(c, points=D("6.01"))) != h
    assert entry_hash(genesis, replace(c, points=D("6"))) == h  # canonical 2 places


def test_activity_guards() -> None:
    start = datetime(2026, 3, 1, 1, tzinfo=UTC)
    end = datetime(2026, 3, 1, 3, tzinfo=UTC)
    activities.check_hours(D("2"), start, end)
    with pytest.raises(Invalid) as exc:
        activities.check_hours(D("2.5"), start, end)
    assert exc.value.field == "body.hours"
    with pytest.raises(Conflict, match="window"):
        activities.check_in(now=end.replace(hour=4), starts_at=start, ends_at=end, code="1",
                            given="1", checked_in_at=None)  # fmt: skip
    with pytest.raises(Conflict, match="already checked in"):
        activities.check_in(now=start, starts_at=start, ends_at=end, code="1", given="1",
                            checked_in_at=start)  # fmt: skip
    with pytest.raises(Invalid):
        activities.check_in(now=start, starts_at=start, ends_at=end, code="1", given="2",
                            checked_in_at=None)  # fmt: skip
    with pytest.raises(Conflict, match="full"):
        activities.check_sign_up(now=start, ends_at=end, taken=3, capacity=3)


def test_stale_wish_flag() -> None:
    published = datetime(2026, 3, 1, tzinfo=UTC)
    later = datetime(2026, 3, 20, tzinfo=UTC)
    assert wishes.is_stale("open", published, later, 14)
    assert not wishes.is_stale("open", published, later, 30)
    assert not wishes.is_stale("claimed", published, later, 14)


def test_masked_names() -> None:
    assert public_name("张三丰", show_full_name=False) == "张*"
    assert public_name("欧阳修", show_full_name=False) == "欧阳*"
    assert public_name("张三丰", show_full_name=True) == "张三丰"


def test_roster_reports_every_bad_row() -> None:
    unit, community = uuid4(), uuid4()
    csv_text = (
        "name,phone,unit_id,community_id,grid_id\n"
        f"王五,13800000001,{unit},{community},\n"
        f",13800000002,{unit},{community},\n"
        f"赵六,12345,{unit},not-a-uuid,\n"
        f"钱七,13800000001,{unit},{community},\n"
        ",,,,\n"
        f"孙八,13800000009,{unit},{community},\n"
    )
    drafts, errors = parse_roster(
        read_rows(csv_text.encode(), required=REQUIRED, max_rows=MAX_ROWS)
    )
    # A draft keeps its spreadsheet row, past bad and blank rows.
    assert [(row, d.name) for row, d in drafts] == [(2, "王五"), (7, "孙八")]
    assert {(e.row, e.field) for e in errors} == {
        (3, "name"), (4, "phone"), (4, "community_id"), (5, "phone"),
    }  # fmt: skip
