"""CPU time by component, read from /proc: where a phase's CPU went, per event.

Components: each service process, the broker, the PostgreSQL backends grouped by database (a
service's own, `bench_raw` for the references), PostgreSQL's background processes
(checkpointer, WAL writer, autovacuum; parallel query workers apart), and this benchmark's
own process (the driver: feed, HTTP client, pollers). A process that ends between two
readings takes its ticks with it, except a PostgreSQL process: the postmaster reaps it, and
its CPU moves into the postmaster's count of its children ("PostgreSQL, exited processes").
A pool replaces a connection after 50,000 queries (asyncpg's `max_queries`), and it reuses
the connection it released last, so in a long phase a service's busiest backend exits and a
new one takes over; without that count its CPU went missing from the phase.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

_HZ = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 0  # the machine's, as the report's header and cores rows name them
EXITED = "PostgreSQL, exited processes"
_BACKGROUND = ("checkpointer", "walwriter", "background writer", "autovacuum", "logical", "stats")


def _user_plus_system(stat: str, user_field: int) -> float:
    """Seconds of a user/system pair of /proc/<pid>/stat, counted after the command name."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[user_field]) + int(fields[user_field + 1])) / _HZ


def _cpu_seconds(stat: str) -> float:
    return _user_plus_system(stat, 11)  # utime, stime


def _reaped_cpu_seconds(stat: str) -> float:
    """CPU of the children a process has waited for."""
    return _user_plus_system(stat, 13)  # cutime, cstime


def _is_postmaster(cmdline: str) -> bool:
    return cmdline.split(" ", 1)[0].endswith("/postgres") and " -D " in cmdline


def pid_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of one process since it started."""
    return _cpu_seconds(Path(f"/proc/{pid}/stat").read_text())


def _postgres_component(cmdline: str) -> str:
    # "postgres: <user> <database> <host> <state>" for a backend
    rest = cmdline.split("postgres:", 1)[1].split()
    if len(rest) < 3 or any(b in cmdline for b in _BACKGROUND):
        return "PostgreSQL background"
    return f"PostgreSQL {rest[1]}"


CpuReading = dict[str, float]  # component → CPU seconds since its processes started


class CpuMeter:
    """Reads the CPU seconds of the named processes and of every PostgreSQL process."""

    def __init__(self, named: Callable[[], Mapping[str, int | None]]) -> None:
        self._named = named

    def read(self) -> CpuReading:
        by_pid = {pid: name for name, pid in self._named().items() if pid}
        out: dict[str, float] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            name = by_pid.get(int(entry.name))
            if name is None and cmd.startswith("postgres:"):
                name = _postgres_component(cmd)
            elif name is None and _is_postmaster(cmd):
                out[EXITED] = out.get(EXITED, 0.0) + _reaped_cpu_seconds(stat)
                name = "PostgreSQL background"
            if name is not None:
                out[name] = out.get(name, 0.0) + _cpu_seconds(stat)
        return out


def per_event_us(before: CpuReading, after: CpuReading, events: int) -> dict[str, float]:
    """Microseconds of CPU per event by component, largest first (components under 1 µs out)."""
    deltas = {n: after.get(n, 0.0) - before.get(n, 0.0) for n in set(before) | set(after)}
    us = {n: 1e6 * d / max(events, 1) for n, d in deltas.items() if d > 0}
    return dict(sorted(((n, v) for n, v in us.items() if v >= 1), key=lambda kv: -kv[1]))


def cores_for(rate: float, us_per_event: float) -> float:
    """Cores a rate of events needs at a CPU cost per event: 10,000 events/s at 200 µs each
    keep two cores busy."""
    return rate * us_per_event / 1e6


def describe(us: Mapping[str, float], seconds: float, events: int) -> str:
    """'1,234 µs of CPU per event (the machine 187% busy of 200%): evaluation 300, …'."""
    total = sum(us.values())
    busy = 100 * cores_for(events / seconds, total) if seconds > 0 else 0.0
    parts = ", ".join(f"{n} {v:,.0f}" for n, v in us.items())
    return (
        f"{total:,.0f} µs of CPU per event (the machine {busy:.0f}% busy of {100 * CORES}%): "
        f"{parts}"
    )
