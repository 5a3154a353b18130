"""The one exception a consumer needs to catch for a bad message."""

from __future__ import annotations

from pydantic import ValidationError


class ContractError(ValueError):
    """A message does not meet its contract. ``field`` is the dotted path of the culprit."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        self.reason = reason
        self.field = field
        super().__init__(f"{field}: {reason}" if field else reason)

    @classmethod
    def from_validation(cls, error: ValidationError, prefix: str | None = None) -> ContractError:
        """Name the first failing field, e.g. ``payload.items.0.deadline``."""
        first = error.errors(include_url=False)[0]
        parts = [str(p) for p in first["loc"]]
        if prefix:
            parts.insert(0, prefix)
        field = ".".join(parts) or None
        extra = error.error_count() - 1
        reason = first["msg"] + (f" (and {extra} more error(s))" if extra else "")
        return cls(reason, field)


class UnknownEventType(ContractError):
    """The envelope names an event type this version of the contracts does not know."""

    def __init__(self, event_type: str) -> None:
        self.event_type = event_type
        super().__init__(f"unknown event type {event_type!r}", "event_type")


__all__ = ["ContractError", "UnknownEventType"]
