"""Business time. Injectable: `system`, or `file:<path>` holding an ISO timestamp a driver writes.

JWT expiry and rate limits use the wall clock, never this one.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FileClock:
    """Reads the time from a file; re-reads only when the file changed (cheap on hot paths)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp: tuple[int, int] | None = None
        self._value = datetime.now(UTC)

    def now(self) -> datetime:
        st = os.stat(self._path)
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            text = self._path.read_text().strip()
            self._value = parse_utc(text)
            self._stamp = stamp
        return self._value


class FixedClock:
    """For tests: time moves only when told to."""

    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at


def parse_utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"clock time {text!r} has no time zone")
    return value.astimezone(UTC)


def clock_from_setting(setting: str) -> Clock:
    if setting == "system":
        return SystemClock()
    if setting.startswith("file:"):
        return FileClock(Path(setting.removeprefix("file:")))
    raise ValueError(f"COBUILD_CLOCK must be 'system' or 'file:<path>', not {setting!r}")


def business_date(at: datetime) -> date:
    """The Asia/Shanghai calendar date of a UTC instant: deadlines and years are local."""
    return at.astimezone(BUSINESS_TZ).date()


def write_clock_file(path: Path, at: datetime) -> None:
    """Atomically move a file clock (the driver's side)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(at.astimezone(UTC).isoformat())
    os.replace(tmp, path)
