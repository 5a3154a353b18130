"""Domain-level refusals that every adapter maps the same way (HTTP status, log line)."""

from __future__ import annotations


class CobuildError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(CobuildError):
    """Bad input that passed the schema but not the rules: 422 naming the field."""

    status = 422
    code = "invalid"


class TooLarge(CobuildError):
    """Input within the body limit whose event would exceed the event size bound: 413 naming
    the event's largest field (e.g. `payload.items`). Raised before the commit."""

    status = 413
    code = "too_large"


class Unauthorized(CobuildError):
    status = 401
    code = "unauthorized"


class Forbidden(CobuildError):
    status = 403
    code = "forbidden"


class NotFound(CobuildError):
    status = 404
    code = "not_found"


class Conflict(CobuildError):
    """Illegal state transition or a clash with current state: 409 naming the state."""

    status = 409
    code = "conflict"


class Unavailable(CobuildError):
    """A dependency (the broker, the database) cannot answer now: 503, the client retries."""

    status = 503
    code = "unavailable"
