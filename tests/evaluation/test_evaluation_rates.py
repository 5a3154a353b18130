"""The fulfilment ledger's arithmetic: counts and values, as-of, on-time, null edge cases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from cobuild_evaluation.domain.ledger import (
    Cancelled,
    CommitmentState,
    Delta,
    Figures,
    FlaggedOverdue,
    Fulfilled,
    Opened,
    apply_fact,
    open_commitment,
    rate,
    sum_as_of,
)


def _open(cid: str, deadline: date, fen: int, day: date = date(2026, 1, 10)) -> Opened:
    return Opened(cid, "a", "c", "u", "c", deadline, fen, day)


def _run(*histories: tuple[Opened, list[object]]) -> list[Delta]:
    deltas: list[Delta] = []
    for opened, facts in histories:
        state, ds = open_commitment(opened)
        deltas += ds
        for fact in facts:
            state, ds = apply_fact(state, fact)  # type: ignore[arg-type]
            deltas += ds
    return deltas


def test_count_and_value_rates_as_of_two_dates() -> None:
    deltas = _run(
        # on time: done by its deadline, confirmed on 1 March
        (
            _open("c1", date(2026, 3, 31), 10_000),
            [Fulfilled(date(2026, 3, 1), 10_000, 10_000, True)],
        ),
        # late: fulfilled after its deadline, paid more than committed (counts the committed)
        (
            _open("c2", date(2026, 2, 28), 30_000),
            [Fulfilled(date(2026, 4, 15), 50_000, 30_000, False)],
        ),
        # still open, due in June
        (_open("c3", date(2026, 6, 30), 60_000), []),
        # cancelled in May
        (_open("c4", date(2026, 12, 31), 5_000), [Cancelled(date(2026, 5, 2))]),
    )
    march = sum_as_of(deltas, date(2026, 3, 31))
    assert march["signed"] == 4 and march["fulfilled"] == 1 and march["cancelled"] == 0
    # c1 and c2 are due by 31 March; c2 is overdue; c1 is on time
    assert march["due"] == 2 and march["on_time"] == 1 and march["overdue"] == 1
    r = march.rates()
    assert r["fulfilment_rate"] == Decimal("0.2500")
    assert r["fulfilment_rate_fen"] == Decimal("0.0952")  # 10 000 / 105 000
    assert r["on_time_rate"] == Decimal("0.5000")
    assert march.as_dict()["on_time_rate_fen"] == "0.2500"  # 10 000 / 40 000

    year_end = sum_as_of(deltas, date(2026, 12, 31))
    assert year_end["fulfilled"] == 2 and year_end["cancelled"] == 1
    assert year_end["fulfilled_fen"] == 40_000  # min(paid, committed) for c2
    assert year_end.rates()["fulfilment_rate"] == Decimal("0.6667")  # 2 / (4 - 1)
    assert year_end.rates()["fulfilment_rate_fen"] == Decimal("0.4000")  # 40 000 / 100 000
    # due: c1, c2, c3 (c4 cancelled); on time: c1 only; overdue: c3
    assert year_end["due"] == 3 and year_end["on_time"] == 1 and year_end["overdue"] == 1
    assert year_end.as_dict()["on_time_rate"] == "0.3333"


def test_done_before_deadline_confirmed_after_is_on_time_only_once_confirmed() -> None:
    deltas = _run(
        (_open("c1", date(2026, 3, 31), 100), [Fulfilled(date(2026, 4, 3), 100, 100, True)])
    )
    deadline_day = sum_as_of(deltas, date(2026, 3, 31))
    assert deadline_day["due"] == 1 and deadline_day["on_time"] == 0
    assert deadline_day["overdue"] == 1  # due and not (yet) fulfilled at the end of the day
    after = sum_as_of(deltas, date(2026, 4, 3))
    assert after["on_time"] == 1 and after["overdue"] == 0
    assert after.rates()["on_time_rate"] == Decimal("1.0000")


def test_nothing_signed_gives_null_rates() -> None:
    figs = Figures()
    assert all(v is None for v in figs.rates().values())
    assert figs.as_dict()["fulfilment_rate"] is None
    assert rate(0, 0) is None


def test_all_cancelled_gives_null_rates() -> None:
    deltas = _run(
        (_open("c1", date(2026, 3, 1), 100), [Cancelled(date(2026, 2, 1))]),
        (_open("c2", date(2026, 3, 1), 200), [Cancelled(date(2026, 4, 1))]),
    )
    figs = sum_as_of(deltas, date(2026, 12, 31))
    assert figs["signed"] == 2 and figs["cancelled"] == 2
    assert figs.rates() == {
        "fulfilment_rate": None,
        "fulfilment_rate_fen": None,
        "on_time_rate": None,
        "on_time_rate_fen": None,
    }
    assert figs["overdue"] == 0
    # before its cancellation, c2 was due and overdue
    mid = sum_as_of(deltas, date(2026, 3, 15))
    assert mid["due"] == 1 and mid["overdue"] == 1


def test_before_opening_nothing_counts() -> None:
    deltas = _run((_open("c1", date(2026, 3, 1), 100, day=date(2026, 2, 1)), []))
    assert sum_as_of(deltas, date(2026, 1, 31))["signed"] == 0
    assert sum_as_of(deltas, date(2026, 2, 1))["signed"] == 1


def test_terminal_facts_win_and_flags_count_once() -> None:
    state, _ = open_commitment(_open("c1", date(2026, 3, 1), 100))
    state, ds = apply_fact(state, Cancelled(date(2026, 2, 1)))
    assert ds
    assert apply_fact(state, Fulfilled(date(2026, 2, 2), 100, 100, True))[1] == []
    s2, _ = open_commitment(_open("c2", date(2026, 3, 1), 100))
    s2, first = apply_fact(s2, FlaggedOverdue(date(2026, 3, 2)))
    assert first == [Delta(date(2026, 3, 2), "flagged_overdue", 1)]
    assert apply_fact(s2, FlaggedOverdue(date(2026, 3, 3)))[1] == []
    assert isinstance(s2, CommitmentState) and s2.status == "open"


def test_rates_are_four_place_strings() -> None:
    assert Figures({"signed": 3, "fulfilled": 1}).as_dict()["fulfilment_rate"] == "0.3333"
    assert Figures({"signed": 1, "fulfilled": 1}).as_dict()["fulfilment_rate"] == "1.0000"
