"""The base of every contract model, and the shared field types.

Producers and consumers use the same models, with one difference: producers forbid
unknown fields (a typo must not reach the wire), while consumers ignore them (a newer
producer may add optional fields within v1). The models forbid them; a consumer validates
with ``extra="ignore"`` (see ``envelope.decode``), which pydantic applies to nested models
too (agreement items, participants).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Final

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)


class Contract(BaseModel):
    """Immutable, strict-on-write, tolerant-on-read base model."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


# --- numeric and time bounds (the hardening issue, High 3 and 4) ---------------------------
#
# One ceiling per kind of number, far above any legitimate community value and far below what
# any service can store (PostgreSQL integer 2^31-1, bigint 2^63-1, numeric(12,2) 10^10). Every
# event and every command field uses these types, so a value one service accepts is a value
# every other service can store, add up and show. docs/RELIABILITY.md, "Hardening: numeric
# bounds", gives the reasoning; tests/contracts/test_bounds.py checks that no integer or
# decimal field of an event or a command is left without an upper bound <= NUMERIC_CEILING.
# Tightening to these bounds is not a breaking change: no legitimate value exceeds them.

# Money: one amount (an item's funds, a payment so far) is at most 10^10 fen = 100,000,000
# yuan, orders above the largest community agreement. The fulfilment ledger's sums are
# numeric, and 9.2*10^8 amounts at the cap would still fit one bigint day row.
MAX_FEN: Final = 10**10
# Items, sessions or people of one need, resource or commitment (fits PostgreSQL integer).
MAX_QUANTITY: Final = 10**7
# A head count, a rank, a number of members or units, an activity's capacity.
MAX_COUNT: Final = 10**7
# Revisions of one aggregate (a need, a resource, a party, an agreement).
MAX_VERSION: Final = 10**6
# One evidence file (the service's own upload limit is far lower).
MAX_BYTES: Final = 2**30
# Points of one ledger entry (a rule grants single or double digits).
MAX_POINTS: Final = 10**4
# A signed score component or weighted part (points totals included).
MAX_COMPONENT: Final = 10**9
# Days between two business dates of the supported span.
MAX_DAYS: Final = 36_600
# Rows a page may skip (query parameter ``offset``).
MAX_OFFSET: Final = 10**7
# No integer or decimal of any event or command exceeds this, in either direction.
NUMERIC_CEILING: Final = MAX_FEN

# Business dates, timestamps and years lie in 2000..2100: dates at year 1 or 9999 are refused
# as invalid input instead of overflowing a date computation (a UTC shift, a day added).
MIN_YEAR: Final = 2000
MAX_YEAR: Final = 2100
MIN_DATE: Final = date(MIN_YEAR, 1, 1)
MAX_DATE: Final = date(MAX_YEAR, 12, 31)


def _date_in_range(value: date) -> date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise ValueError(f"must lie between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}")
    return value


def _to_utc(value: datetime) -> datetime:
    # Checked before the shift: 0001-01-01T00:00+08:00 in UTC is before year 1 (OverflowError).
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must lie in the years {MIN_YEAR}..{MAX_YEAR}")
    return value.astimezone(UTC)


def _plain_decimal(value: Decimal) -> str:
    # Fixed-point text ("1E+1" would be legal JSON-string decimal but surprising).
    return format(value, "f")


def _decimal_json(pattern: str, description: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": pattern, "description": description})


_DEC_SERIALIZER: Final = PlainSerializer(_plain_decimal, return_type=str, when_used="json")

# A timestamp with a zone, normalised to UTC (naive datetimes are refused).
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]

# A business date (a deadline, a term, an as-of date) in 2000-01-01..2100-12-31.
BusinessDate = Annotated[date, AfterValidator(_date_in_range)]

# Money is integer fen (1/100 yuan), never a float. Strict: "100" or 100.0 are refused.
Fen = Annotated[int, Field(ge=0, le=MAX_FEN, strict=True)]
# Counted things: items of a commitment, a head count, a capacity, a rank.
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Rank = Annotated[int, Field(ge=1, le=MAX_COUNT)]
Percent = Annotated[int, Field(ge=0, le=100)]
# Rows a page skips, and the day count of a reminder (negative when overdue).
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
Days = Annotated[int, Field(ge=-MAX_DAYS, le=MAX_DAYS)]
ByteSize = Annotated[int, Field(ge=1, le=MAX_BYTES)]

# Volunteer points, e.g. "12.50". Decimals travel as JSON strings.
Points = Annotated[
    Decimal,
    Field(ge=-MAX_POINTS, le=MAX_POINTS, decimal_places=2),
    _DEC_SERIALIZER,
    _decimal_json(r"^-?\d{1,5}(\.\d{1,2})?$", "decimal string, at most 2 places, |p| <= 10000"),
]

# Hours of service in one attendance or commitment: 0 < h <= 24.
Hours = Annotated[
    Decimal,
    Field(gt=0, le=24, decimal_places=2),
    _DEC_SERIALIZER,
    _decimal_json(r"^\d{1,2}(\.\d{1,2})?$", "hours, decimal string, 0 < h <= 24"),
]

# A score on the 0..100 scale with at most 2 places.
Score = Annotated[
    Decimal,
    Field(ge=0, le=100, decimal_places=2),
    _DEC_SERIALIZER,
    _decimal_json(r"^\d{1,3}(\.\d{1,2})?$", "score 0..100, decimal string, at most 2 places"),
]

# A signed decimal with at most 2 places (score components, weighted parts).
Decimal2 = Annotated[
    Decimal,
    Field(ge=-MAX_COMPONENT, le=MAX_COMPONENT, decimal_places=2),
    _DEC_SERIALIZER,
    _decimal_json(r"^-?\d{1,10}(\.\d{1,2})?$", "decimal string, at most 2 places, |x| <= 10^9"),
]

_RATE_QUANTUM: Final = Decimal("0.0001")


def _rate_places(value: Decimal) -> Decimal:
    # Always 4 places on the wire ("0.9000"), as ARCHITECTURE.md, "Money, points and rates" settles.
    return value.quantize(_RATE_QUANTUM)


# A ratio 0..1 as a decimal string with exactly 4 places.
Rate = Annotated[
    Decimal,
    Field(ge=0, le=1, decimal_places=4),
    AfterValidator(_rate_places),
    _DEC_SERIALIZER,
    _decimal_json(r"^(0\.\d{4}|1\.0000)$", "ratio 0..1, decimal string with 4 places"),
]

CATEGORY_PATTERN: Final = r"^[a-z][a-z0-9_]{1,39}$"
CATEGORY_RE: Final = re.compile(CATEGORY_PATTERN)

# Category codes are data (the taxonomy is configurable); HongfanCategory is the default set.
CategoryCode = Annotated[str, Field(pattern=CATEGORY_PATTERN)]

# A rule or policy code such as "activity_attendance".
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]

Title = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=4000)]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
Unit = Annotated[str, Field(min_length=1, max_length=40)]
Version = Annotated[int, Field(ge=1, le=MAX_VERSION)]
Year = Annotated[int, Field(ge=MIN_YEAR, le=MAX_YEAR)]


class Event(Contract):
    """A fact one service publishes. Subclasses pin the type, topic and key field."""

    EVENT_TYPE: ClassVar[str]
    TOPIC: ClassVar[str]
    # The payload field holding the aggregate id; it becomes the Kafka message key, so
    # one aggregate's events stay in order on one partition.
    KEY_FIELD: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1

    def key(self) -> str:
        """The message key: the aggregate id as text."""
        return str(getattr(self, self.KEY_FIELD))
