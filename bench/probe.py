"""Measuring helpers: RSS sampling of the service processes, completion by database counts,
percentiles."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg


def rss_mb(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class RssSampler:
    """Samples every service's RSS; `mark(phase)` starts a new phase's peak."""

    def __init__(self, pids: Callable[[], dict[str, int | None]], every_s: float = 0.2) -> None:
        self._pids = pids
        self._every = every_s
        self.phase = "start"
        self.peaks: dict[str, dict[str, float]] = {}
        self._task: asyncio.Task[None] | None = None

    def mark(self, phase: str) -> None:
        self.phase = phase
        self.sample()

    def sample(self) -> dict[str, float]:
        now = {name: rss_mb(pid) for name, pid in self._pids().items()}
        peaks = self.peaks.setdefault(self.phase, {})
        for name, mb in now.items():
            peaks[name] = max(peaks.get(name, 0.0), mb)
        return now

    def peak(self, phase: str, name: str) -> float:
        return self.peaks.get(phase, {}).get(name, 0.0)

    def overall_peak(self, name: str, exclude: tuple[str, ...] = ()) -> float:
        return max(
            (p.get(name, 0.0) for ph, p in self.peaks.items() if ph not in exclude), default=0.0
        )

    async def __aenter__(self) -> RssSampler:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self._every)


async def count(dsn: str, sql: str, *args: object) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def wait_until(
    check: Callable[[], Awaitable[bool]], timeout_s: float, every_s: float = 0.25
) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(every_s)
    return await check()


class Counter:
    """A reusable connection for frequent counts."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn: asyncpg.Connection | None = None

    async def value(self, sql: str, *args: object) -> int:
        return (await self.row(sql, *args))[0]

    async def row(self, sql: str, *args: object) -> tuple[int, ...]:
        """The first row of `sql`, as integers."""
        if self.conn is None or self.conn.is_closed():
            self.conn = await asyncpg.connect(self.dsn)
        row = await self.conn.fetchrow(sql, *args)
        assert row is not None
        return tuple(int(v) for v in row.values())

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()


class Since:
    """Rows of one table matching `where` with an id above a start, counted incrementally:
    each poll reads only the rows written since the last. Sound for a table whose writer
    commits its transactions one after another (ids then become visible in order)."""

    def __init__(self, dsn: str, table: str, where: str, start: int, arg: object) -> None:
        self._counter = Counter(dsn)
        self._poll = (
            f"SELECT count(*) FILTER (WHERE {where}), coalesce(max(id), $1) "
            f"FROM {table} WHERE id > $1"
        )
        self._exact = f"SELECT count(*) FROM {table} WHERE id > $1 AND {where}"
        self._arg = arg
        self.start = self.mark = start
        self.total = 0

    async def count(self) -> int:
        new, self.mark = await self._counter.row(self._poll, self.mark, self._arg)
        self.total += new
        return self.total

    async def exact(self) -> int:
        """The whole count in one statement, to check the incremental one."""
        return await self._counter.value(self._exact, self.start, self._arg)

    async def close(self) -> None:
        await self._counter.close()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]
