"""When signing keys rotate, and which of them are published (ARCHITECTURE.md, "Tokens").

Each key is published `publish_ahead` before it starts to sign, signs until the next key
starts, and stays published until the last token it signed has expired, then is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class KeyTimes:
    kid: str
    activates_at: datetime


def _by_start(keys: Sequence[KeyTimes]) -> list[KeyTimes]:
    return sorted(keys, key=lambda k: (k.activates_at, k.kid))


def signing(keys: Sequence[KeyTimes], now: datetime) -> KeyTimes | None:
    """The key that signs now: the latest to have started."""
    started = [k for k in _by_start(keys) if k.activates_at <= now]
    return started[-1] if started else None


def retired_at(keys: Sequence[KeyTimes], key: KeyTimes) -> datetime | None:
    """When `key` stopped signing (the next key's start), or None while nothing follows it."""
    later = [k.activates_at for k in keys if (k.activates_at, k.kid) > (key.activates_at, key.kid)]
    return min(later) if later else None


def dropped(keys: Sequence[KeyTimes], now: datetime, token_life: timedelta) -> list[KeyTimes]:
    """Keys no token still alive can have been signed with: out of the JWKS, deleted."""
    out = []
    for key in keys:
        retired = retired_at(keys, key)
        if retired is not None and retired <= now and retired + token_life <= now:
            out.append(key)
    return out


def published(keys: Sequence[KeyTimes], now: datetime, token_life: timedelta) -> list[KeyTimes]:
    """The JWKS: the signing key, the next one (published ahead), and the retired ones
    whose tokens may still be alive."""
    gone = {k.kid for k in dropped(keys, now, token_life)}
    return [k for k in _by_start(keys) if k.kid not in gone]


def next_key_due(
    keys: Sequence[KeyTimes], now: datetime, rotate_after: timedelta, publish_ahead: timedelta
) -> datetime | None:
    """When a new key should start signing, if one should be made now; else None.

    No key at all: one starts at once (the first start of the service). Otherwise a new key
    is made `publish_ahead` before the newest key has signed for `rotate_after`, to start
    then; nothing is made while a key made ahead has not started yet."""
    if not keys:
        return now
    newest = _by_start(keys)[-1]
    if newest.activates_at > now:
        return None  # the next key is already published, waiting to sign
    due = newest.activates_at + rotate_after
    if now >= due - publish_ahead:
        return max(due, now + publish_ahead)
    return None
