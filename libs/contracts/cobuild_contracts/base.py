"""The base of every contract model, and the shared field types.

Producers and consumers use the same models, with one difference: producers forbid
unknown fields (a typo must not reach the wire), while consumers ignore them (a newer
producer may add optional fields within v1). The models forbid them; a consumer validates
with ``extra="ignore"`` (see ``envelope.decode``), which pydantic applies to nested models
too (agreement items, participants).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
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


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _plain_decimal(value: Decimal) -> str:
    # Fixed-point text ("1E+1" would be legal JSON-string decimal but surprising).
    return format(value, "f")


def _decimal_json(pattern: str, description: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": pattern, "description": description})


_DEC_SERIALIZER: Final = PlainSerializer(_plain_decimal, return_type=str, when_used="json")

# A timestamp with a zone, normalised to UTC (naive datetimes are refused).
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]

# Money is integer fen (1/100 yuan), never a float. Strict: "100" or 100.0 are refused.
Fen = Annotated[int, Field(ge=0, strict=True)]

# Volunteer points, e.g. "12.50". Decimals travel as JSON strings.
Points = Annotated[
    Decimal,
    Field(decimal_places=2),
    _DEC_SERIALIZER,
    _decimal_json(r"^-?\d+(\.\d{1,2})?$", "decimal string, at most 2 places"),
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
    Field(decimal_places=2),
    _DEC_SERIALIZER,
    _decimal_json(r"^-?\d+(\.\d{1,2})?$", "decimal string, at most 2 places"),
]

_RATE_QUANTUM: Final = Decimal("0.0001")


def _rate_places(value: Decimal) -> Decimal:
    # Always 4 places on the wire ("0.9000"), as DESIGN §7 settles.
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
Version = Annotated[int, Field(ge=1)]
Year = Annotated[int, Field(ge=2000, le=2100)]


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
