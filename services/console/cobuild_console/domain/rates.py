"""The fulfilment and on-time rates as the pages show them: the ledger's decimal strings
(`"0.9000"`, ARCHITECTURE.md, "Money, points and rates") as percentages, and the dates a
year's trend is read at. Never a float: the chart's numbers are decimal text too."""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

RATES = ("fulfilment_rate", "fulfilment_rate_fen", "on_time_rate", "on_time_rate_fen")


def percent(rate: str | None) -> str | None:
    """ "0.9000" → "90.0"; None (a zero denominator) stays None: the page says "no figure"."""
    if rate is None:
        return None
    return format((Decimal(rate) * 100).quantize(Decimal("0.1")), "f")


def checkpoints(today: date) -> list[date]:
    """The end of each month of this year so far, and today for the month under way."""
    points = [date(today.year, m, monthrange(today.year, m)[1]) for m in range(1, today.month)]
    return [*points, today]


@dataclass(frozen=True)
class Point:
    as_of: date
    rates: dict[str, str | None]  # by RATES name, as percentages


def point(as_of: date, figures: dict[str, object]) -> Point:
    return Point(as_of, {name: percent(_text(figures.get(name))) for name in RATES})


def _text(value: object) -> str | None:
    return None if value is None else str(value)
