"""A commitment and its state machine.

opened → claimed → in_progress → done_pending_confirmation → fulfilled; cancelled is final.
Overdue is a one-time flag, not a state (ARCHITECTURE.md, "Overdue"): a late commitment can
still be fulfilled.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from cobuild_kit.clock import business_date


class Status(StrEnum):
    OPENED = "opened"
    CLAIMED = "claimed"
    IN_PROGRESS = "in_progress"
    DONE_PENDING_CONFIRMATION = "done_pending_confirmation"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"


FINAL = frozenset({Status.FULFILLED, Status.CANCELLED})
# States in which the obligor still owes work (reminders and overdue apply).
WORKING = frozenset({Status.OPENED, Status.CLAIMED, Status.IN_PROGRESS})


class Action(StrEnum):
    CLAIM = "claim"
    ASSIGN = "assign"
    PROGRESS = "progress"
    ATTACH_EVIDENCE = "attach_evidence"
    MARK_DONE = "mark_done"
    CONFIRM = "confirm"
    REFUSE = "refuse"
    CANCEL = "cancel"


# From which states each action is legal; everything else is an IllegalTransition.
ALLOWED: dict[Action, frozenset[Status]] = {
    Action.CLAIM: frozenset({Status.OPENED}),
    Action.ASSIGN: frozenset({Status.CLAIMED, Status.IN_PROGRESS}),
    Action.PROGRESS: frozenset({Status.CLAIMED, Status.IN_PROGRESS}),
    Action.ATTACH_EVIDENCE: frozenset(
        {Status.CLAIMED, Status.IN_PROGRESS, Status.DONE_PENDING_CONFIRMATION}
    ),
    Action.MARK_DONE: frozenset({Status.CLAIMED, Status.IN_PROGRESS}),
    Action.CONFIRM: frozenset({Status.DONE_PENDING_CONFIRMATION}),
    Action.REFUSE: frozenset({Status.DONE_PENDING_CONFIRMATION}),
    Action.CANCEL: frozenset(set(Status) - FINAL),
}


class IllegalTransition(Exception):
    """The action is not allowed in the commitment's current state."""

    def __init__(self, action: Action, status: Status) -> None:
        super().__init__(f"cannot {action.value.replace('_', ' ')}: commitment is {status.value}")
        self.action = action
        self.status = status


class RuleViolation(Exception):
    """Input that breaks a domain rule; `field` names what to fix."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Participation:
    member_id: UUID
    hours: Decimal


@dataclass(frozen=True)
class Commitment:
    commitment_id: UUID
    agreement_id: UUID
    community_id: UUID
    unit_id: UUID
    obligor_party_id: UUID
    beneficiary_party_id: UUID
    title: str
    kind: str
    category: str
    deadline: date
    funds_fen: int
    quantity: int
    quantity_unit: str
    opened_at: datetime
    status: Status = Status.OPENED
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    member_ids: tuple[UUID, ...] = ()
    percent: int = 0
    note: str = ""
    paid_fen: int = 0
    payment_ref: str | None = None
    done_at: datetime | None = None
    participants: tuple[Participation, ...] = ()
    actual_quantity: int | None = None
    confirmed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    overdue_at: datetime | None = None
    reminded_at: datetime | None = None

    # --- transitions ------------------------------------------------------------------

    def _check(self, action: Action) -> None:
        if self.status not in ALLOWED[action]:
            raise IllegalTransition(action, self.status)

    def claim(self, by: str, at: datetime) -> Commitment:
        self._check(Action.CLAIM)
        return replace(self, status=Status.CLAIMED, claimed_by=by, claimed_at=at)

    def assign(self, member_ids: tuple[UUID, ...]) -> Commitment:
        self._check(Action.ASSIGN)
        if not member_ids:
            raise RuleViolation("assign at least one member", "body.member_ids")
        if len(set(member_ids)) != len(member_ids):
            raise RuleViolation("a member appears twice", "body.member_ids")
        return replace(self, member_ids=member_ids)

    def progress(
        self, percent: int, note: str, paid_fen: int | None, payment_ref: str | None
    ) -> Commitment:
        self._check(Action.PROGRESS)
        if paid_fen is None:
            return replace(self, status=Status.IN_PROGRESS, percent=percent, note=note)
        if self.funds_fen == 0:
            raise RuleViolation("this commitment carries no funds", "body.paid_fen")
        if paid_fen < self.paid_fen:
            # Paid so far is cumulative; a correction downwards is not a progress report.
            raise RuleViolation(
                f"paid so far cannot go down (was {self.paid_fen} fen)", "body.paid_fen"
            )
        if paid_fen > 0 and not payment_ref:
            raise RuleViolation("a payment needs its reference", "body.payment_ref")
        return replace(
            self,
            status=Status.IN_PROGRESS,
            percent=percent,
            note=note,
            paid_fen=paid_fen,
            payment_ref=payment_ref or self.payment_ref,
        )

    def check_evidence_allowed(self) -> None:
        self._check(Action.ATTACH_EVIDENCE)

    def mark_done(
        self, at: datetime, participants: tuple[Participation, ...], actual_quantity: int | None
    ) -> Commitment:
        self._check(Action.MARK_DONE)
        _check_participants(participants)
        return replace(
            self,
            status=Status.DONE_PENDING_CONFIRMATION,
            done_at=at,
            percent=100,
            participants=participants or self.participants,
            actual_quantity=self.actual_quantity if actual_quantity is None else actual_quantity,
        )

    def confirm(
        self,
        by_party: UUID,
        by_subject: str,
        at: datetime,
        participants: tuple[Participation, ...] | None,
        actual_quantity: int | None,
    ) -> Commitment:
        self._check(Action.CONFIRM)
        if by_party in self.member_ids or by_subject in {str(m) for m in self.member_ids}:
            raise AssignedMemberConfirms("a member assigned to the task cannot confirm it")
        if participants is not None:
            _check_participants(participants)
        return replace(
            self,
            status=Status.FULFILLED,
            confirmed_at=max(at, self.done_at) if self.done_at else at,
            participants=self.participants if participants is None else participants,
            actual_quantity=self.actual_quantity if actual_quantity is None else actual_quantity,
        )

    def refuse(self) -> Commitment:
        self._check(Action.REFUSE)
        return replace(self, status=Status.IN_PROGRESS, done_at=None)

    def cancel(self, reason: str, at: datetime) -> Commitment:
        self._check(Action.CANCEL)
        return replace(self, status=Status.CANCELLED, cancelled_at=at, cancel_reason=reason)

    # --- derived facts ----------------------------------------------------------------

    @property
    def done_date(self) -> date | None:
        return business_date(self.done_at) if self.done_at else None

    @property
    def delivered_quantity(self) -> int:
        return self.quantity if self.actual_quantity is None else self.actual_quantity

    @property
    def partial(self) -> bool:
        return self.delivered_quantity < self.quantity

    @property
    def on_time(self) -> bool:
        """Done by the deadline counts, even when confirmed after it (ARCHITECTURE.md,
        "Overdue")."""
        done = self.done_date
        return done is not None and done <= self.deadline

    def overdue_due(self, today: date) -> bool:
        """Whether the one-time overdue flag must be raised now (business date `today`)."""
        if self.overdue_at is not None or today <= self.deadline:
            return False
        if self.status in WORKING:
            return True
        # Done late and still unconfirmed: late all the same. Done in time: not overdue.
        done = self.done_date
        return (
            self.status == Status.DONE_PENDING_CONFIRMATION
            and done is not None
            and (done > self.deadline)
        )

    def reminder_due(self, today: date, days_before: int) -> bool:
        """Once, in the window before the deadline; never after the overdue flag (a refusal
        past the deadline raises it at once, and a reminder then would come after the alert)."""
        return (
            self.reminded_at is None
            and self.overdue_at is None
            and self.status in WORKING
            and (self.deadline - today).days <= days_before
        )

    def days_left(self, today: date) -> int:
        return (self.deadline - today).days


class AssignedMemberConfirms(Exception):
    """A member assigned to the task tried to confirm it (a 403, not a state problem)."""


def _check_participants(participants: tuple[Participation, ...]) -> None:
    ids = [p.member_id for p in participants]
    if len(set(ids)) != len(ids):
        raise RuleViolation("a member appears twice", "body.participants")
