"""What a run of the main job costs, and where an earlier run's data goes.

The year is played from zero, so a run needs an empty database and evidence folder. An earlier
run's data is never deleted silently: it moves to `var/last-run/` (the run before that one is
removed, and the launcher says so), and `make clean-var` clears everything.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# What one run leaves under var/ (PostgreSQL's data, the evidence files), by scale.
STATE_DIRS = ("pg", "data")
LAST_RUN = "last-run"
TIMINGS = "last-run-timings.json"


@dataclass(frozen=True)
class Estimate:
    minutes: float
    disk_bytes: int


# Measured on the 2-core development machine (district, 2026-12-08: 341 s from the stack up
# to the report, the staff's and 64 members' sign-in and the notifications service included,
# about 6 min with the stack's start and stop; 766 MB under var/ when last measured); a run
# writes its own timings, which the next run's estimate prefers.
ESTIMATES = {
    "small": Estimate(minutes=0.5, disk_bytes=200 * 2**20),
    "district": Estimate(minutes=6, disk_bytes=1000 * 2**20),
}


def announce(var_dir: Path, scale: str, say: Callable[[str], None]) -> None:
    """Say what the run will do, about how long it takes and how much disk it needs; refuse
    when the disk cannot hold it."""
    estimate = ESTIMATES.get(scale, ESTIMATES["district"])
    last = last_seconds(var_dir, scale)
    took = f"the last {scale} run here took {last / 60:.1f} min" if last else "no earlier run here"
    say(
        f"cobuild run: starts PostgreSQL, the broker and the services under {var_dir}/, plays "
        f"a {scale} year and writes its report; about {estimate.minutes:g} min on 2 cores "
        f"({took}), about {estimate.disk_bytes / 2**30:.1f} GB of disk"
    )
    var_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(var_dir).free
    if free < estimate.disk_bytes:
        raise OSError(
            f"only {free / 2**30:.1f} GB free under {var_dir}; the run needs about "
            f"{estimate.disk_bytes / 2**30:.1f} GB (make clean-var removes earlier runs)"
        )


def keep_earlier_run(var_dir: Path, say: Callable[[str], None]) -> None:
    """Move an earlier run's databases and files to var/last-run/, replacing the one kept
    there before. Renames only: instant, and nothing is copied."""
    present = [var_dir / d for d in STATE_DIRS if (var_dir / d).exists()]
    if not present:
        return
    kept = var_dir / LAST_RUN
    if kept.exists():
        say(f"removing the run kept in {kept}/ before this one")
        shutil.rmtree(kept)
    kept.mkdir(parents=True)
    for path in present:
        path.rename(kept / path.name)
    say(
        f"the earlier run's database and files are kept in {kept}/ "
        "(make clean-var removes every run)"
    )


def last_seconds(var_dir: Path, scale: str) -> float | None:
    try:
        timings = json.loads((var_dir / TIMINGS).read_text())
        return float(timings[scale]["total_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record_timings(
    var_dir: Path, scale: str, phases: dict[str, float], requests: int | None = None
) -> None:
    """Keep this run's phase times (and its request count) for the next run's estimate and
    for the bench's main-job row (bench/steps/main_job.py)."""
    path = var_dir / TIMINGS
    try:
        timings = json.loads(path.read_text())
    except (OSError, ValueError):
        timings = {}
    timings[scale] = {"phases_s": phases, "total_s": sum(phases.values()), "requests": requests}
    path.write_text(json.dumps(timings, indent=2))
