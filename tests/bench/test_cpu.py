"""bench/cpu.py reads CPU time from /proc. A PostgreSQL backend that exits mid-phase (a pool
replaces a connection after 50,000 queries) leaves its CPU in the postmaster's count of
reaped children, and the meter reads it from there instead of losing it."""

from __future__ import annotations

import os
import subprocess
import sys

from bench.cpu import (
    _HZ,
    _is_postmaster,
    _reaped_cpu_seconds,
    cores_for,
    describe,
    pid_cpu_seconds,
)

# /proc/<pid>/stat after the command name: state, ppid, … utime (14), stime, cutime, cstime
STAT = "4242 (postgres) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 250 50 20 0 1 0 99 0 0"


def test_the_reaped_children_are_the_cutime_and_cstime_fields() -> None:
    assert _reaped_cpu_seconds(STAT) == (250 + 50) / _HZ


def test_the_postmaster_is_told_from_its_backends_and_other_programs() -> None:
    assert _is_postmaster("/opt/pg/bin/postgres -D /var/pg -p 5432 -c fsync=on")
    assert not _is_postmaster("postgres: points points 127.0.0.1(5432) idle")
    assert not _is_postmaster("/usr/bin/python -m cobuild_points -D x")


def test_a_child_that_exits_moves_its_cpu_to_its_parent() -> None:
    """What the meter relies on, held against this process and a child burning CPU."""
    with open(f"/proc/{os.getpid()}/stat") as f:
        before = _reaped_cpu_seconds(f.read())
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"
    subprocess.run([sys.executable, "-c", burn], check=True)
    with open(f"/proc/{os.getpid()}/stat") as f:
        after = _reaped_cpu_seconds(f.read())
    assert after - before >= 0.25
    assert pid_cpu_seconds(os.getpid()) > 0


def test_a_rate_at_a_cost_per_event_needs_its_product_in_cores() -> None:
    """The bench's 'cores the target needs' row: half a 20,000 events/s raw pipeline at
    600 µs per event is six cores, three times this machine's two."""
    assert cores_for(10_000, 200) == 2.0
    assert cores_for(0.5 * 20_000, 600) == 6.0
    # the same total the CPU section prints for the phase
    assert describe({"points": 400.0, "evaluation": 200.0}, 1.0, 1_000).startswith("600 µs")
