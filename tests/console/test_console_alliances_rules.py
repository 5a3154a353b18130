"""The joint meeting form's pure rules (http/meetings.py): what is sent from the form's rows,
and where each of the agreements service's refusals is shown (beside which row's field)."""

from __future__ import annotations

from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.http.meetings import _body, _refusal_errors

CHAIR = "01a2521b-e5eb-7638-80e4-c3dba8029694"
COMMUNITY = "01a2521b-c7aa-7000-8000-000000000001"
MEETING = {"held_on": "", "title": "第二次联席会议", "place": "", "agenda": "甲\n\n 乙 ",
           "minutes": ""}  # fmt: skip


def _row(title: str, funds: str = "", **more: str) -> dict[str, str]:
    row = dict.fromkeys(
        ("title", "description", "responsible", "community", "category", "deadline"), ""
    )
    return {**row, "title": title, "funds_yuan": funds, "community": COMMUNITY, **more}


def test_rows_without_a_title_are_skipped_and_yuan_become_fen() -> None:
    rows = [_row(""), _row("楼道照明改造", "1,200.5", deadline="2027-01-07"), _row("")]
    body, errors, sent = _body(MEETING, [CHAIR], rows, CHAIR)
    assert not errors and sent == [1]
    assert body["agenda"] == ["甲", "乙"] and body["chair_unit_id"] == CHAIR
    assert "held_on" not in body  # empty: the service's default (today)
    (decision,) = body["decisions"]
    assert decision["funds_fen"] == 120_050
    assert decision["beneficiary_community_id"] == COMMUNITY
    assert "responsible_unit_id" not in decision  # the chair by default


def test_a_bad_amount_is_refused_beside_its_own_row() -> None:
    rows = [_row("甲", "12"), _row(""), _row("乙", "12.345")]
    _, errors, sent = _body(MEETING, [], rows, CHAIR)
    assert sent == [0, 2]
    assert list(errors.fields) == ["decisions-2-funds_yuan"]
    assert "两位小数" in errors.fields["decisions-2-funds_yuan"]


def test_the_services_refusals_land_beside_the_rows_that_were_sent() -> None:
    # Rows 0 and 2 were sent (row 1 was empty): the service's decisions.1 is the form's row 2.
    refused = ServiceRefusal(
        "agreements",
        422,
        {
            "error": "validation",
            "message": "several",
            "fields": [
                {"field": "body.decisions.1.deadline",
                 "message": "deadline 2026-01-01 is before the meeting (2026-12-08) or today"},
                {"field": "body.decisions.0.responsible_unit_id",
                 "message": "unit x is not a member on 2026-12-08"},
                {"field": "body.present_unit_ids.0", "message": "unit x is not a member on 2026-12-08"},
                {"field": "body.held_on",
                 "message": "must not be before the last meeting recorded (2026-11-08)"},
                {"field": "query.x", "message": "Field required"},
            ],
        },
    )  # fmt: skip
    errors = _refusal_errors(refused, [0, 2])
    assert errors.fields == {
        "decisions-2-deadline": "完成时限不得早于会议日期或今天。",
        "decisions-0-responsible": "该单位当天不是成员。",
        "present": "该单位当天不是成员。",
        "held_on": "不得早于上次会议（2026-11-08）。",
    }
    assert len(errors.general) == 1  # a field outside the body concerns the whole form
