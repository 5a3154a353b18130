"""The envelope every event travels in, and the wire codec.

Producers: ``encode(wrap(event, producer=..., occurred_at=...))``. Consumers:
``envelope, event = decode(raw)``, catching ``ContractError`` to dead-letter the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field, ValidationError

from .base import MAX_VERSION, Contract, Event, UtcDatetime
from .errors import ContractError, UnknownEventType
from .ids import new_event_id
from .registry import event_class


class Envelope(Contract):
    """Metadata plus the payload, as on the wire (the payload is checked by ``decode``)."""

    event_id: UUID
    event_type: str = Field(min_length=1, max_length=100)
    schema_version: int = Field(default=1, ge=1, le=MAX_VERSION)
    occurred_at: UtcDatetime
    producer: str = Field(min_length=1, max_length=100)
    # Carried from the HTTP request through every event it causes, for log correlation.
    correlation_id: str | None = Field(default=None, max_length=200)
    causation_id: UUID | None = None  # the event_id of the event that caused this one
    key: str = Field(min_length=1, max_length=200)
    payload: dict[str, Any]


def wrap(
    event: Event,
    *,
    producer: str,
    occurred_at: datetime,
    correlation_id: str | None = None,
    causation_id: UUID | None = None,
    event_id: UUID | None = None,
) -> Envelope:
    """Put ``event`` in an envelope, validating both strictly (producer side).

    ``occurred_at`` is required because business time comes from the injectable clock.
    """
    cls = type(event)
    payload = event.model_dump(mode="json")
    try:
        # Re-validate: an event built with model_construct() or mutated must not escape.
        cls.model_validate(payload)
        return Envelope(
            event_id=event_id or new_event_id(),
            event_type=cls.EVENT_TYPE,
            schema_version=cls.SCHEMA_VERSION,
            occurred_at=occurred_at,
            producer=producer,
            correlation_id=correlation_id,
            causation_id=causation_id,
            key=event.key(),
            payload=payload,
        )
    except ValidationError as exc:
        raise ContractError.from_validation(exc) from exc


def encode(envelope: Envelope) -> bytes:
    """Compact UTF-8 JSON (non-ASCII kept as is). Decimals are strings, money is ints."""
    return envelope.model_dump_json().encode("utf-8")


def headers(envelope: Envelope | Mapping[str, Any]) -> dict[str, str]:
    """Kafka headers: the event type travels in a header as well as in the envelope.

    Takes the model or its stored JSON form (an outbox row), so every producer sends the same."""
    env = envelope.model_dump(mode="json") if isinstance(envelope, Envelope) else envelope
    out = {
        "event_type": str(env["event_type"]),
        "event_id": str(env["event_id"]),
        "schema_version": str(env.get("schema_version", 1)),
        "producer": str(env["producer"]),
    }
    if env.get("correlation_id") is not None:
        out["correlation_id"] = str(env["correlation_id"])
    return out


def decode_envelope(raw: bytes | str) -> Envelope:
    """Parse the envelope only (leniently: unknown envelope fields are ignored).

    JSON is parsed and validated in one pass in pydantic's core, not by ``json.loads`` and
    then a walk of the dict: a consumer decodes every message it handles."""
    try:
        return Envelope.model_validate_json(raw, extra="ignore")
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            raise ContractError(f"not valid UTF-8 JSON: {first['msg']}") from exc
        if first["type"] == "model_type":
            raise ContractError("the envelope must be a JSON object") from exc
        raise ContractError.from_validation(exc) from exc


def parse_payload(envelope: Envelope) -> Event:
    """Validate an envelope's payload against its event type (leniently)."""
    cls = event_class(envelope.event_type)
    try:
        event = cls.model_validate(envelope.payload, extra="ignore")
    except ValidationError as exc:
        raise ContractError.from_validation(exc, prefix="payload") from exc
    if event.key() != envelope.key:
        # A wrong key would put the event on another partition, out of order.
        raise ContractError(f"{envelope.key!r} is not the payload's key {event.key()!r}", "key")
    return event


def decode(raw: bytes | str) -> tuple[Envelope, Event]:
    """Parse and validate a message as a consumer; any defect raises ``ContractError``."""
    envelope = decode_envelope(raw)
    return envelope, parse_payload(envelope)


__all__ = [
    "ContractError",
    "Envelope",
    "UnknownEventType",
    "decode",
    "decode_envelope",
    "encode",
    "headers",
    "new_event_id",
    "parse_payload",
    "wrap",
]
