"""Sliding-window rate limits (wall clock), kept per bucket and key, for what strangers can
reach or guess: token-less reads, one-time codes, check-in codes.

A bucket is one kind of attempt ("public", "resident-code"); a key is who or what is counted
in it: a client address, a commitment, a member and activity. Limiting by the thing guessed
at as well as by address keeps a client that rotates addresses from getting more guesses.
The counts live in the process: with N replicas a client gets up to N times the limit, which
is still a bound (docs/SCALING.md).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request

from cobuild_kit.errors import TooManyRequests
from cobuild_kit.settings import ServiceSettings

WINDOW_S = 60.0
# At most this many keys are counted at once; the least recently seen go first, so a flood
# of new keys costs memory up to this bound, not without end.
MAX_KEYS = 100_000


class RateLimits:
    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self._hits: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._max_keys = max_keys

    def allow(self, bucket: str, key: str, per_minute: int) -> bool:
        """Count one attempt; False when `key` has had `per_minute` in the last minute."""
        now = time.monotonic()
        hits = self._hits.pop((bucket, key), None) or deque()
        while hits and hits[0] < now - WINDOW_S:
            hits.popleft()
        self._hits[(bucket, key)] = hits  # most recently seen last
        while len(self._hits) > self._max_keys:
            self._hits.popitem(last=False)
        if len(hits) >= per_minute:
            return False
        hits.append(now)
        return True

    def check(self, bucket: str, key: str, per_minute: int, what: str = "requests") -> None:
        """Count one attempt, or refuse it (429 at the HTTP edge, with Retry-After)."""
        if not self.allow(bucket, key, per_minute):
            raise TooManyRequests(f"too many {what}: wait a minute, then try again")


def client_address(request: Request) -> str:
    """The peer's address, or the one a trusted proxy forwarded (settings.trusted_proxies)."""
    return request.client.host if request.client else "unknown"


def rate_limit(
    bucket: str,
    per_minute: Callable[[ServiceSettings], int],
    *,
    key: Callable[[Request], str] = client_address,
    what: str = "requests",
) -> Any:
    """A route dependency: `dependencies=[rate_limit("public", lambda s: s.public_...)]`."""

    async def limited(request: Request) -> None:
        rt = request.app.state.runtime
        rt.rate_limits.check(bucket, key(request), per_minute(rt.settings), what)

    return Depends(limited)
