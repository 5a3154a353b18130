"""Cobuild event contracts: the envelope, the v1 event schemas and the topic names.

This is the only code the services share about each other.
"""

from __future__ import annotations

from . import enums, topics
from .base import (
    LENIENT,
    CategoryCode,
    Contract,
    Decimal2,
    Event,
    Fen,
    Hours,
    Points,
    Rate,
    Score,
    UtcDatetime,
)
from .enums import *  # noqa: F403
from .envelope import (
    Envelope,
    decode,
    decode_envelope,
    encode,
    headers,
    parse_payload,
    wrap,
)
from .errors import ContractError, UnknownEventType
from .events import *  # noqa: F403
from .events import __all__ as _events
from .ids import new_event_id, uuid7, uuid7_unix_ms
from .registry import EVENT_TYPES, event_class, events_on

__all__ = [
    "EVENT_TYPES",
    "LENIENT",
    "CategoryCode",
    "Contract",
    "ContractError",
    "Decimal2",
    "Envelope",
    "Event",
    "Fen",
    "Hours",
    "Points",
    "Rate",
    "Score",
    "UnknownEventType",
    "UtcDatetime",
    "decode",
    "decode_envelope",
    "encode",
    "enums",
    "event_class",
    "events_on",
    "headers",
    "new_event_id",
    "parse_payload",
    "topics",
    "uuid7",
    "uuid7_unix_ms",
    "wrap",
    *enums.__all__,
    *_events,
]
