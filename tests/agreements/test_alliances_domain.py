"""The rotating chair (轮值主席) as pure rules: whose turn it is, meeting after meeting and
period after period, with units joining, leaving and coming back."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID, uuid4

import pytest
from cobuild_agreements.domain.alliances import (
    Membership,
    Order,
    Rotation,
    Stint,
    add_months,
    check_after_last_meeting,
    check_order,
)
from cobuild_contracts.enums import RotationMode
from cobuild_kit.errors import Conflict, Invalid

A, B, C, D, E = (uuid4() for _ in range(5))
NAMES = {A: "A", B: "B", C: "C", D: "D", E: "E"}
FORMED = date(2026, 1, 1)


def monthly(n: int) -> list[date]:
    """The second Saturday-ish of each month: one meeting a month from January."""
    return [date(2026, m, 10) for m in range(1, n + 1)]


def chairs(rotation: Rotation, days: list[date]) -> list[str]:
    """Hold a meeting on each day in turn, as the use case does: each chair follows the last."""
    out: list[str] = []
    previous: UUID | None = None
    for day in days:
        chair = rotation.chair_for(day, previous)
        assert chair is not None
        out.append(NAMES[chair])
        previous = chair
    return out


def per_meeting(stints: list[Stint], *orders: Order) -> Rotation:
    return Rotation(RotationMode.PER_MEETING, None, orders, Membership(tuple(stints)))


def test_twelve_meetings_with_a_unit_leaving_mid_way() -> None:
    # C leaves after the sixth meeting (June 10): from July its turns are skipped.
    members = [Stint(A, FORMED), Stint(B, FORMED), Stint(C, FORMED, date(2026, 6, 30))]
    members.append(Stint(D, FORMED))
    rotation = per_meeting(members, Order(1, FORMED, (A, B, C, D)))
    assert chairs(rotation, monthly(12)) == [
        "A", "B", "C", "D", "A", "B",  # C chairs in March while still a member
        "D", "A", "B", "D", "A", "B",  # C left on June 30: skipped ever after
    ]  # fmt: skip


def test_a_unit_that_left_is_skipped_even_when_it_is_next() -> None:
    # C is next after B's meeting, but leaves the day before the next meeting.
    members = [Stint(A, FORMED), Stint(B, FORMED), Stint(C, FORMED, date(2026, 3, 9))]
    rotation = per_meeting(members, Order(1, FORMED, (A, B, C)))
    assert chairs(rotation, monthly(4)) == ["A", "B", "A", "B"]


def test_a_unit_that_joins_takes_its_turn_last_and_one_that_returns_keeps_its_place() -> None:
    members = [
        Stint(A, FORMED),
        Stint(B, FORMED, date(2026, 2, 1)),
        Stint(B, date(2026, 4, 1)),  # back from April
        Stint(C, FORMED),
        Stint(E, date(2026, 3, 1)),  # joins in March, appended to the order
    ]
    rotation = per_meeting(
        members, Order(1, FORMED, (A, B, C)), Order(2, date(2026, 3, 1), (A, B, C, E))
    )
    # February: B has left on Feb 1, so C; March: E (joined March 1, last in the new
    # order); then A, and B again (back from April 1) in its old place.
    assert chairs(rotation, monthly(8)) == ["A", "C", "E", "A", "B", "C", "E", "A"]


def test_a_new_order_takes_over_from_its_date_and_starts_at_the_head_if_needed() -> None:
    members = [Stint(u, FORMED) for u in (A, B, C, D)]
    rotation = per_meeting(
        members, Order(1, FORMED, (A, B, C, D)), Order(2, date(2026, 3, 1), (D, C, B))
    )
    # After B (February) comes, in the new order D, C, B: the unit after B is D (wrapping).
    assert chairs(rotation, monthly(5)) == ["A", "B", "D", "C", "B"]
    # A chaired last, and A is not in the new order: the new order starts at its head.
    assert rotation.chair_for(date(2026, 3, 10), A) == D


def test_no_member_no_chair() -> None:
    rotation = per_meeting([Stint(A, FORMED, date(2026, 2, 1))], Order(1, FORMED, (A,)))
    assert rotation.chair_for(date(2026, 1, 10), None) == A
    assert rotation.chair_for(date(2026, 2, 10), A) is None
    # A lone member chairs every meeting.
    alone = per_meeting([Stint(A, FORMED)], Order(1, FORMED, (A,)))
    assert chairs(alone, monthly(3)) == ["A", "A", "A"]


def test_per_quarter_every_meeting_of_a_quarter_has_its_chair() -> None:
    members = [Stint(A, FORMED), Stint(B, FORMED, date(2026, 7, 1)), Stint(C, FORMED)]
    rotation = Rotation(
        RotationMode.PER_PERIOD,
        3,
        (Order(1, date(2026, 1, 15), (A, B, C)),),
        Membership(tuple(members)),
    )
    assert rotation.period_start(0) == date(2026, 1, 1)
    assert rotation.period_of(date(2026, 4, 1)) == 1
    # Q1 A, Q2 B, Q3 C (B left on July 1, and C comes next anyway), Q4 A.
    assert chairs(rotation, monthly(12)) == ["A"] * 3 + ["B"] * 3 + ["C"] * 3 + ["A"] * 3
    # Q5 (2027): B has left, so after A comes C.
    assert rotation.chair_for(date(2027, 1, 5), None) == C
    upcoming = rotation.upcoming(date(2026, 5, 20), None, 1, count=3)
    assert [(t.number, t.starts_on, t.chair_unit_id) for t in upcoming] == [
        (2, date(2026, 4, 1), B),
        (3, date(2026, 7, 1), C),
        (4, date(2026, 10, 1), A),
    ]


def test_upcoming_meetings_follow_the_last_chair() -> None:
    members = [Stint(u, FORMED) for u in (A, B, C)]
    rotation = per_meeting(members, Order(1, FORMED, (A, B, C)))
    turns = rotation.upcoming(date(2026, 5, 1), B, 7, count=4)
    assert [(t.number, NAMES[t.chair_unit_id or A]) for t in turns] == [
        (7, "C"),
        (8, "A"),
        (9, "B"),
        (10, "C"),
    ]


def test_months_roll_over_years() -> None:
    assert add_months(date(2026, 11, 20), 3) == date(2027, 2, 1)
    assert add_months(date(2026, 1, 31), 0) == date(2026, 1, 1)


def test_membership_refusals_name_the_field() -> None:
    m = Membership((Stint(A, FORMED, date(2026, 3, 1)), Stint(B, FORMED)))
    with pytest.raises(Conflict) as taken:
        m.check_join(B, date(2026, 4, 1), "body.unit_id")
    assert taken.value.field == "body.unit_id"
    with pytest.raises(Invalid) as early:
        m.check_join(A, date(2026, 2, 1), "body.unit_id")
    assert early.value.field == "body.joined_on"
    m.check_join(A, date(2026, 3, 1), "body.unit_id")  # back on the day it left: fine
    with pytest.raises(Conflict):
        m.check_leave(A, date(2026, 4, 1))  # not a member now
    with pytest.raises(Invalid) as before:
        m.check_leave(B, FORMED)
    assert before.value.field == "body.left_on"
    with pytest.raises(Invalid) as stranger:
        check_order([A, B, C], m, "body.order")
    assert stranger.value.field == "body.order.2"
    with pytest.raises(Invalid) as twice:
        check_order([A, A], m, "body.order")
    assert twice.value.field == "body.order.1"
    with pytest.raises(Invalid) as back:
        check_after_last_meeting(date(2026, 1, 1), date(2026, 1, 2), "body.held_on")
    assert back.value.field == "body.held_on"


def test_members_on_a_day() -> None:
    m = Membership((Stint(A, FORMED, date(2026, 3, 1)), Stint(B, FORMED + timedelta(days=5))))
    assert m.members_on(FORMED) == [A]
    assert m.members_on(date(2026, 2, 1)) == [A, B]
    assert m.members_on(date(2026, 3, 1)) == [B]
