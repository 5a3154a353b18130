"""The commitment state machine, overdue flag, reminders and evidence rules (pure, fast)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from cobuild_commitments.domain.commitment import (
    ALLOWED,
    Action,
    AssignedMemberConfirms,
    Commitment,
    IllegalTransition,
    Participation,
    RuleViolation,
    Status,
)
from cobuild_commitments.domain.evidence import safe_filename, sniff_content_type

DEADLINE = date(2025, 6, 30)
# 2025-06-30 10:00 in Shanghai is 02:00 UTC; 2025-06-30 20:00 UTC is already July 1st there.
ON_DEADLINE = datetime(2025, 6, 30, 2, 0, tzinfo=UTC)
LATE = datetime(2025, 6, 30, 20, 0, tzinfo=UTC)
EARLY = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
MEMBER = uuid4()


def fresh(**kw: object) -> Commitment:
    unit, community = uuid4(), uuid4()
    base = Commitment(
        commitment_id=uuid4(),
        agreement_id=uuid4(),
        community_id=community,
        unit_id=unit,
        obligor_party_id=unit,
        beneficiary_party_id=community,
        title="Repair the compound lighting",
        kind="task",
        category="happy_compound",
        deadline=DEADLINE,
        funds_fen=500_000,
        quantity=10,
        quantity_unit="lamp",
        opened_at=EARLY,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def act(c: Commitment, action: Action) -> Commitment | None:
    match action:
        case Action.CLAIM:
            return c.claim("unit_admin:x", EARLY)
        case Action.ASSIGN:
            return c.assign((MEMBER,))
        case Action.PROGRESS:
            return c.progress(50, "half", None, None)
        case Action.ATTACH_EVIDENCE:
            c.check_evidence_allowed()
            return None
        case Action.MARK_DONE:
            return c.mark_done(EARLY, (), None)
        case Action.CONFIRM:
            return c.confirm(uuid4(), "community_admin:y", EARLY, None, None)
        case Action.REFUSE:
            return c.refuse()
        case Action.CANCEL:
            return c.cancel("dropped", EARLY)


def in_state(status: Status) -> Commitment:
    return fresh(
        status=status, done_at=EARLY if status == Status.DONE_PENDING_CONFIRMATION else None
    )


ILLEGAL = [(a, s) for a in Action for s in Status if s not in ALLOWED[a]]
LEGAL = [(a, s) for a in Action for s in Status if s in ALLOWED[a]]


def test_every_action_is_covered() -> None:
    assert set(ALLOWED) == set(Action)
    assert len(ILLEGAL) + len(LEGAL) == len(Action) * len(Status)
    assert len(ILLEGAL) == 32  # a change to the machine must show up here


@pytest.mark.parametrize(("action", "status"), ILLEGAL, ids=lambda v: str(v))
def test_illegal_transition_names_the_current_state(action: Action, status: Status) -> None:
    c = in_state(status)
    with pytest.raises(IllegalTransition) as err:
        act(c, action)
    assert err.value.status == status
    assert status.value in str(err.value)


@pytest.mark.parametrize(("action", "status"), LEGAL, ids=lambda v: str(v))
def test_legal_transitions_go_where_they_should(action: Action, status: Status) -> None:
    after = act(in_state(status), action)
    expected = {
        Action.CLAIM: Status.CLAIMED,
        Action.ASSIGN: status,
        Action.PROGRESS: Status.IN_PROGRESS,
        Action.ATTACH_EVIDENCE: None,
        Action.MARK_DONE: Status.DONE_PENDING_CONFIRMATION,
        Action.CONFIRM: Status.FULFILLED,
        Action.REFUSE: Status.IN_PROGRESS,
        Action.CANCEL: Status.CANCELLED,
    }[action]
    assert (after.status if after else None) == expected


def test_happy_path_to_fulfilled_on_time_and_partial() -> None:
    c = fresh().claim("u", EARLY).assign((MEMBER,)).progress(40, "", 200_000, "PAY-1")
    c = c.mark_done(ON_DEADLINE, (Participation(MEMBER, Decimal("3.5")),), 8)
    c = c.confirm(uuid4(), "community_admin:c", LATE, None, None)
    assert c.status == Status.FULFILLED
    assert c.on_time  # done on the deadline's business date, confirmed after it
    assert c.partial and c.delivered_quantity == 8
    assert c.paid_fen == 200_000
    assert c.participants == (Participation(MEMBER, Decimal("3.5")),)


def test_done_after_deadline_is_not_on_time() -> None:
    c = fresh(status=Status.IN_PROGRESS).mark_done(LATE, (), None)
    c = c.confirm(uuid4(), "s", LATE + timedelta(days=1), None, None)
    assert not c.on_time
    assert not c.partial


def test_confirmation_can_replace_participants_and_quantity() -> None:
    other = uuid4()
    c = fresh(status=Status.IN_PROGRESS).mark_done(EARLY, (Participation(MEMBER, Decimal(2)),), 3)
    c = c.confirm(uuid4(), "s", EARLY, (Participation(other, Decimal(1)),), 10)
    assert c.participants == (Participation(other, Decimal(1)),)
    assert c.delivered_quantity == 10 and not c.partial


def test_an_assigned_member_cannot_confirm() -> None:
    c = fresh(status=Status.IN_PROGRESS).assign((MEMBER,)).mark_done(EARLY, (), None)
    with pytest.raises(AssignedMemberConfirms):
        c.confirm(MEMBER, "x", EARLY, None, None)
    with pytest.raises(AssignedMemberConfirms):
        c.confirm(uuid4(), str(MEMBER), EARLY, None, None)


def test_refusal_returns_to_in_progress_and_clears_done() -> None:
    c = fresh(status=Status.IN_PROGRESS).mark_done(EARLY, (), None).refuse()
    assert c.status == Status.IN_PROGRESS and c.done_at is None


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"member_ids": ()}, "body.member_ids"),
        ({"member_ids": (MEMBER, MEMBER)}, "body.member_ids"),
    ],
)
def test_assignment_rules(kw: dict[str, tuple[object, ...]], field: str) -> None:
    with pytest.raises(RuleViolation) as err:
        fresh(status=Status.CLAIMED).assign(kw["member_ids"])  # type: ignore[arg-type]
    assert err.value.field == field


def test_payment_rules() -> None:
    c = fresh(status=Status.CLAIMED)
    with pytest.raises(RuleViolation) as err:
        c.progress(10, "", 100, None)
    assert err.value.field == "body.payment_ref"
    paid = c.progress(10, "", 100, "R1")
    with pytest.raises(RuleViolation) as err:
        paid.progress(20, "", 50, "R2")
    assert err.value.field == "body.paid_fen"
    with pytest.raises(RuleViolation) as err:
        fresh(status=Status.CLAIMED, funds_fen=0).progress(10, "", 100, "R")
    assert err.value.field == "body.paid_fen"


def test_participants_must_be_unique() -> None:
    twice = (Participation(MEMBER, Decimal(1)), Participation(MEMBER, Decimal(2)))
    with pytest.raises(RuleViolation):
        fresh(status=Status.IN_PROGRESS).mark_done(EARLY, twice, None)


# --- overdue (a one-time flag, not a state) ---------------------------------------------


@pytest.mark.parametrize("status", [Status.OPENED, Status.CLAIMED, Status.IN_PROGRESS])
def test_working_commitment_is_overdue_the_day_after_its_deadline(status: Status) -> None:
    c = fresh(status=status)
    assert not c.overdue_due(DEADLINE)
    assert c.overdue_due(DEADLINE + timedelta(days=1))
    assert not replace(c, overdue_at=LATE).overdue_due(DEADLINE + timedelta(days=5))


@pytest.mark.parametrize("status", [Status.FULFILLED, Status.CANCELLED])
def test_finished_commitments_are_never_overdue(status: Status) -> None:
    assert not fresh(status=status).overdue_due(DEADLINE + timedelta(days=30))


def test_done_in_time_awaiting_confirmation_is_not_overdue() -> None:
    c = fresh(status=Status.IN_PROGRESS).mark_done(ON_DEADLINE, (), None)
    assert not c.overdue_due(DEADLINE + timedelta(days=10))


def test_done_late_awaiting_confirmation_is_overdue() -> None:
    c = fresh(status=Status.IN_PROGRESS).mark_done(LATE, (), None)
    assert c.overdue_due(DEADLINE + timedelta(days=1))


def test_refused_after_deadline_becomes_overdue_at_once() -> None:
    c = fresh(status=Status.IN_PROGRESS).mark_done(ON_DEADLINE, (), None)
    today = DEADLINE + timedelta(days=2)
    assert not c.overdue_due(today)
    assert c.refuse().overdue_due(today)


def test_a_flagged_commitment_can_still_be_fulfilled() -> None:
    c = fresh(status=Status.IN_PROGRESS, overdue_at=LATE).mark_done(LATE, (), None)
    c = c.confirm(uuid4(), "s", LATE, None, None)
    assert c.status == Status.FULFILLED and not c.on_time


def test_reminder_window() -> None:
    c = fresh()
    assert not c.reminder_due(DEADLINE - timedelta(days=4), 3)
    assert c.reminder_due(DEADLINE - timedelta(days=3), 3)
    assert not replace(c, reminded_at=EARLY).reminder_due(DEADLINE, 3)
    assert not fresh(status=Status.DONE_PENDING_CONFIRMATION).reminder_due(DEADLINE, 3)


def test_no_reminder_after_the_overdue_alert() -> None:
    """A refusal past the deadline flags the task overdue at once; a scan before the next
    'done' must not then remind the unit of a deadline the alert already reported."""
    flagged = fresh(status=Status.IN_PROGRESS, overdue_at=LATE)
    assert not flagged.reminder_due(DEADLINE + timedelta(days=1), 3)
    # Not yet flagged (the service was down over the deadline): the one reminder still goes,
    # in the same scan that raises the overdue flag.
    assert fresh(status=Status.IN_PROGRESS).reminder_due(DEADLINE + timedelta(days=1), 3)


# --- evidence ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"GIF89a", "image/gif"),
        (b"hello world", None),
        (b"<svg xmlns=", None),
        (b"MZ\x90\x00", None),
    ],
)
def test_sniffing(head: bytes, expected: str | None) -> None:
    assert sniff_content_type(head) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("/abs/path/photo.jpg", "photo.jpg"),
        ("..", "evidence"),
        ("", "evidence"),
        (None, "evidence"),
        ("收据 2025.pdf", "收据 2025.pdf"),
        ("a\x00b\nc.png", "abc.png"),
        ("x;rm -rf*.png", "x_rm -rf_.png"),
    ],
)
def test_filenames_lose_their_paths(name: str | None, expected: str) -> None:
    assert safe_filename(name) == expected
