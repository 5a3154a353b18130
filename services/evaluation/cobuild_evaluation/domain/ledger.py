"""The fulfilment ledger's arithmetic (履约率).

A commitment's facts (opened, fulfilled, overdue, cancelled) become dated *deltas* of a fixed
set of measures. The figure of any scope as of a business date D is the sum of the deltas
dated on or before D, so answers come from a running sum, never from replaying history.

As-of semantics, for a business date D (Asia/Shanghai), read as "at the end of day D":
- signed: opened on or before D;
- cancelled: cancelled on or before D;
- fulfilled: confirmed on or before D (a late fulfilment still counts as fulfilled);
- due by D: deadline <= D (and opened by D);
- on time: due by D, done by its deadline (the event's ``on_time``) and confirmed by D;
- overdue: due by D, not fulfilled by D and not cancelled by D;
- flagged_overdue: ``commitment.overdue`` flags received on or before D (a one-time flag).
Rates:
- fulfilment rate = fulfilled / (signed - cancelled);
- on-time rate = on_time / (due by D and not cancelled by D);
- by count and by value in fen; a fulfilled commitment counts min(paid, committed) fen;
- a zero denominator gives None; rates are Decimals quantized to 4 places.
A fact after a commitment's cancellation (or a cancellation after its fulfilment) is kept in
the journal but moves no figure: the first terminal fact wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

RATE_QUANTUM = Decimal("0.0001")
ALL_SCOPE = UUID(int=0)  # the id of the scope 'all', the whole ledger

MEASURES: tuple[str, ...] = (
    "signed",
    "signed_fen",
    "cancelled",
    "cancelled_fen",
    "fulfilled",
    "fulfilled_fen",
    "due",
    "due_fen",
    "on_time",
    "on_time_fen",
    "overdue",
    "overdue_fen",
    "flagged_overdue",
)


@dataclass(frozen=True)
class CommitmentState:
    """What the ledger knows of one commitment (enough to derive its deltas)."""

    commitment_id: str
    agreement_id: str
    community_id: str
    unit_id: str
    beneficiary_party_id: str
    deadline: date
    committed_fen: int
    opened_on: date
    fulfilled_on: date | None = None
    credited_fen: int = 0
    on_time: bool = False
    cancelled_on: date | None = None
    flagged_on: date | None = None

    @property
    def due_on(self) -> date:
        return max(self.opened_on, self.deadline)

    @property
    def status(self) -> str:
        if self.cancelled_on is not None:
            return "cancelled"
        if self.fulfilled_on is not None:
            return "fulfilled"
        return "open"


@dataclass(frozen=True)
class Delta:
    day: date
    measure: str
    amount: int


@dataclass(frozen=True)
class Opened:
    commitment_id: str
    agreement_id: str
    community_id: str
    unit_id: str
    beneficiary_party_id: str
    deadline: date
    committed_fen: int
    day: date


@dataclass(frozen=True)
class Fulfilled:
    day: date  # the confirmation's business date
    paid_fen: int
    committed_fen: int
    on_time: bool


@dataclass(frozen=True)
class Cancelled:
    day: date


@dataclass(frozen=True)
class FlaggedOverdue:
    day: date


Fact = Opened | Fulfilled | Cancelled | FlaggedOverdue


def open_commitment(fact: Opened) -> tuple[CommitmentState, list[Delta]]:
    state = CommitmentState(
        commitment_id=fact.commitment_id,
        agreement_id=fact.agreement_id,
        community_id=fact.community_id,
        unit_id=fact.unit_id,
        beneficiary_party_id=fact.beneficiary_party_id,
        deadline=fact.deadline,
        committed_fen=fact.committed_fen,
        opened_on=fact.day,
    )
    fen = fact.committed_fen
    due = state.due_on
    return state, [
        Delta(fact.day, "signed", 1),
        Delta(fact.day, "signed_fen", fen),
        Delta(due, "due", 1),
        Delta(due, "due_fen", fen),
        # Every due commitment is overdue until it is fulfilled or cancelled.
        Delta(due, "overdue", 1),
        Delta(due, "overdue_fen", fen),
    ]


def apply_fact(state: CommitmentState, fact: Fact) -> tuple[CommitmentState, list[Delta]]:
    """The next state and the deltas one later fact causes (pure, deterministic)."""
    if isinstance(fact, Opened):
        return state, []  # a redelivered open under a new event id: already counted
    if isinstance(fact, FlaggedOverdue):
        if state.flagged_on is not None:
            return state, []
        return replace(state, flagged_on=fact.day), [Delta(fact.day, "flagged_overdue", 1)]
    if state.status != "open":
        return state, []
    if isinstance(fact, Fulfilled):
        return _fulfil(state, fact)
    return _cancel(state, fact)


def step(state: CommitmentState | None, fact: Fact) -> tuple[CommitmentState | None, list[Delta]]:
    """One fact on a commitment known so far as `state` (None: not opened yet). A fact
    before its open moves nothing; the incremental upkeep refuses one before asking."""
    if state is None:
        if not isinstance(fact, Opened):
            return None, []
        return open_commitment(fact)
    return apply_fact(state, fact)


@dataclass
class Folded:
    """What a run of facts leaves: each opened commitment's state and the deltas its facts
    caused, in the order commitments were first opened."""

    states: dict[str, CommitmentState] = field(default_factory=dict)
    deltas: dict[str, list[Delta]] = field(default_factory=dict)


def fold(facts: Iterable[tuple[str, Fact]]) -> Folded:
    """The ledger's one fold: (commitment id, fact) pairs in journal order, through `step`.
    The rebuild folds the journal with it, and the incremental upkeep must agree (tested)."""
    out = Folded()
    for cid, fact in facts:
        state, moved = step(out.states.get(cid), fact)
        if state is None:
            continue
        out.states[cid] = state
        out.deltas.setdefault(cid, []).extend(moved)
    return out


def _fulfil(state: CommitmentState, fact: Fulfilled) -> tuple[CommitmentState, list[Delta]]:
    credited = min(fact.paid_fen, state.committed_fen)
    new = replace(state, fulfilled_on=fact.day, credited_fen=credited, on_time=fact.on_time)
    # It stops being overdue once it is both due and fulfilled.
    settled = max(state.due_on, fact.day)
    deltas = [
        Delta(fact.day, "fulfilled", 1),
        Delta(fact.day, "fulfilled_fen", credited),
        Delta(settled, "overdue", -1),
        Delta(settled, "overdue_fen", -state.committed_fen),
    ]
    if fact.on_time:
        deltas += [Delta(settled, "on_time", 1), Delta(settled, "on_time_fen", credited)]
    return new, deltas


def _cancel(state: CommitmentState, fact: Cancelled) -> tuple[CommitmentState, list[Delta]]:
    fen = state.committed_fen
    gone = max(state.due_on, fact.day)  # due and cancelled both hold from here on
    return replace(state, cancelled_on=fact.day), [
        Delta(fact.day, "cancelled", 1),
        Delta(fact.day, "cancelled_fen", fen),
        Delta(gone, "due", -1),
        Delta(gone, "due_fen", -fen),
        Delta(gone, "overdue", -1),
        Delta(gone, "overdue_fen", -fen),
    ]


@dataclass(frozen=True)
class Figures:
    """A scope's sums as of a date, and the rates derived from them."""

    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEASURES, 0))

    def __getitem__(self, measure: str) -> int:
        return self.totals.get(measure, 0)

    def rates(self) -> dict[str, Decimal | None]:
        live = self["signed"] - self["cancelled"]
        live_fen = self["signed_fen"] - self["cancelled_fen"]
        return {
            "fulfilment_rate": rate(self["fulfilled"], live),
            "fulfilment_rate_fen": rate(self["fulfilled_fen"], live_fen),
            "on_time_rate": rate(self["on_time"], self["due"]),
            "on_time_rate_fen": rate(self["on_time_fen"], self["due_fen"]),
        }

    def as_dict(self) -> dict[str, Any]:
        rates = self.rates()
        return {
            **{m: self[m] for m in MEASURES},
            **{k: format_rate(v) for k, v in rates.items()},
        }


def rate(numerator: int, denominator: int) -> Decimal | None:
    if denominator <= 0:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATE_QUANTUM, ROUND_HALF_UP)


def format_rate(value: Decimal | None) -> str | None:
    return None if value is None else format(value.quantize(RATE_QUANTUM), "f")


def sum_as_of(deltas: list[Delta], as_of: date) -> Figures:
    """The reference (slow) computation: what the kept aggregates must equal."""
    totals = dict.fromkeys(MEASURES, 0)
    for d in deltas:
        if d.day <= as_of:
            totals[d.measure] += d.amount
    return Figures(totals)


def aggregate(deltas: list[Delta]) -> dict[date, dict[str, int]]:
    """Deltas folded per day (what one scope's daily rows hold)."""
    out: dict[date, dict[str, int]] = {}
    for d in deltas:
        day = out.get(d.day)
        if day is None:  # not setdefault: it would build a fresh dict for every delta
            day = out[d.day] = dict.fromkeys(MEASURES, 0)
        day[d.measure] += d.amount
    return out
