"""Signed, expiring check-in tokens: what the community's QR code carries instead of the bare
six-digit code. The token binds the activity and its window under the service's key (HMAC
SHA-256), so a phone that opens the QR's link checks in without typing anything, a token
copied to another activity or edited to another window fails its signature, and a token read
outside its window is refused with when the window opens or closed."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from uuid import UUID

from cobuild_kit.clock import BUSINESS_TZ
from cobuild_kit.errors import Conflict, Invalid

VERSION = "1"
_FIELD = "body.token"


def _mac(key: bytes, activity_id: UUID, not_before: int, not_after: int) -> str:
    message = f"check-in:v{VERSION}:{activity_id}:{not_before}:{not_after}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    # 128 bits are plenty for a token that lives hours; shorter keeps the QR code sparse.
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def sign(key: bytes, activity_id: UUID, not_before: datetime, not_after: datetime) -> str:
    """`<version>.<not before>.<not after>.<mac>`, the times in Unix seconds."""
    nb, na = int(not_before.timestamp()), int(not_after.timestamp())
    return f"{VERSION}.{nb}.{na}.{_mac(key, activity_id, nb, na)}"


def window(key: bytes, activity_id: UUID, token: str) -> tuple[datetime, datetime]:
    """The window a genuine token of this activity names; a token that is not one is 422
    naming `body.token` (the same answer for a forged, edited or another activity's token)."""
    parts = token.strip().split(".")
    try:
        version, nb_text, na_text, mac = parts
        nb, na = int(nb_text), int(na_text)
    except ValueError:
        raise Invalid("the check-in token is not valid", field=_FIELD) from None
    expected = _mac(key, activity_id, nb, na)
    if version != VERSION or not hmac.compare_digest(expected.encode(), mac.encode()):
        raise Invalid("the check-in token is not valid", field=_FIELD)
    return datetime.fromtimestamp(nb, UTC), datetime.fromtimestamp(na, UTC)


def check_open(now: datetime, not_before: datetime, not_after: datetime) -> None:
    """Refused outside the token's window, saying when it opens or when it closed (in
    Shanghai's wall-clock time, as the activity was announced)."""
    if now < not_before:
        opens = not_before.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M")
        raise Conflict(f"check-in has not opened yet: it opens at {opens}")
    if now > not_after:
        closed = not_after.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M")
        raise Conflict(f"check-in has closed: it closed at {closed}")
