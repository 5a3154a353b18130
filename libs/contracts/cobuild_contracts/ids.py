"""UUID version 7 (RFC 9562): time-ordered ids, since Python 3.11's uuid lacks uuid7."""

from __future__ import annotations

import os
import threading
import time
from uuid import UUID

_lock = threading.Lock()
_last_ms = -1
_last_counter = 0

# Random bits come from the OS source, read 4 KiB at a time: one read per call (what
# `secrets.randbits` does) was most of the cost of an id in a bulk publication.
_POOL_BYTES = 4096
_pool = b""
_pool_at = 0


def _random_bits(n: int) -> int:
    """n <= 64 random bits from the buffered OS source. Caller holds `_lock`."""
    global _pool, _pool_at
    if _pool_at + 8 > len(_pool):
        _pool, _pool_at = os.urandom(_POOL_BYTES), 0
    value = int.from_bytes(_pool[_pool_at : _pool_at + 8], "big")
    _pool_at += 8
    return value >> (64 - n)


def _forget_pool() -> None:
    # A forked child must not reuse its parent's unread bytes: both would make the same ids.
    global _pool, _pool_at
    _pool, _pool_at = b"", 0


os.register_at_fork(after_in_child=_forget_pool)

_COUNTER_MAX = 0xFFF  # rand_a is 12 bits


def _build(unix_ms: int, rand_a: int, rand_b: int) -> UUID:
    value = (unix_ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76  # version 7
    value |= (rand_a & 0xFFF) << 64
    value |= 0b10 << 62  # RFC 9562 variant
    value |= rand_b & ((1 << 62) - 1)
    return UUID(int=value)


def uuid7(unix_ms: int | None = None) -> UUID:
    """A new uuid7.

    Without ``unix_ms`` it uses the wall clock and is monotonic within this process:
    ``rand_a`` is a counter seeded randomly each millisecond (RFC 9562 §6.2, method 1);
    on counter overflow, or a clock step back, the timestamp is carried forward.
    With ``unix_ms`` it is a plain uuid7 for that instant (no ordering guarantee).
    """
    global _last_ms, _last_counter
    with _lock:
        rand_b = _random_bits(62)
        if unix_ms is not None:
            return _build(unix_ms, _random_bits(12), rand_b)
        now = time.time_ns() // 1_000_000
        if now > _last_ms:
            # Seed with 11 bits so at least 2048 ids fit in a millisecond before a carry.
            _last_ms, _last_counter = now, _random_bits(11)
        elif _last_counter < _COUNTER_MAX:
            _last_counter += 1
        else:
            _last_ms, _last_counter = _last_ms + 1, _random_bits(11)
        return _build(_last_ms, _last_counter, rand_b)


def uuid7_unix_ms(value: UUID) -> int:
    """The millisecond timestamp inside a uuid7."""
    return value.int >> 80


def new_event_id() -> UUID:
    """A fresh event id (uuid7, so ids sort by creation time)."""
    return uuid7()


__all__ = ["new_event_id", "uuid7", "uuid7_unix_ms"]
