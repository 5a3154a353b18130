"""Refusals: what a rule or a command says when it will not do a thing. They name the field
and say why, and carry no transport's vocabulary: the HTTP edge maps each kind to its status
in one table (`cobuild_kit.http.HTTP_STATUS`), a consumer dead-letters them."""

from __future__ import annotations


class CobuildError(Exception):
    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(CobuildError):
    """Bad input that passed the schema but not the rules: 422 naming the field."""

    code = "invalid"


class TooLarge(CobuildError):
    """Input within the body limit whose event would exceed the event size bound: 413 naming
    the event's largest field (e.g. `payload.items`). Raised before the commit."""

    code = "too_large"


class Unauthorized(CobuildError):
    code = "unauthorized"


class Forbidden(CobuildError):
    code = "forbidden"


class NotFound(CobuildError):
    code = "not_found"


class Conflict(CobuildError):
    """Illegal state transition or a clash with current state: 409 naming the state."""

    code = "conflict"


class Gone(CobuildError):
    """What existed and will never work again: a spent or expired one-time code."""

    code = "gone"


class Unavailable(CobuildError):
    """A dependency (the broker, the database) cannot answer now: 503, the client retries."""

    code = "unavailable"


class TooManyRequests(CobuildError):
    """Too many attempts from one client, code or commitment in the window: wait, then retry."""

    code = "rate_limited"
