"""The main job: `cobuild run` plays the district's year (seed 7) on a stack of its own, and
the row holds its time from the stack being up to the report written, against what its
requests would take as raw single-row commits measured in the same run.

Issue 32's budget is 5 minutes on the 2-core machine; this row is where the budget is
watched as later issues add services and pages. It runs after the suite's own stack has
stopped, so the two stacks never compete for the cores.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time

from cobuild_stack.launcher import DEFAULT_PORTS

from bench.report import Row
from bench.suite import Suite

SEED = 7
BUDGET_S = 300.0


async def measure(s: Suite) -> None:
    scale = "small" if s.smoke else "district"
    var = s.var / "main-job"
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    # Free ports: a `make run` serving on the default ones must not collide with the bench.
    env = os.environ | {f"COBUILD_{name.upper()}_PORT": "0" for name in DEFAULT_PORTS}
    log = var / "run.log"
    t0 = time.perf_counter()
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cobuild_stack.cli",
            "run",
            "--scale",
            scale,
            "--seed",
            str(SEED),
            "--no-serve",
            "--var-dir",
            str(var),
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
        code = await proc.wait()
    wall = time.perf_counter() - t0
    if code != 0:
        raise RuntimeError(f"cobuild run exited {code}; see {log}")
    timings = json.loads((var / "last-run-timings.json").read_text())[scale]
    played = float(timings["total_s"])
    requests = int(timings["requests"])
    as_commits = requests / s.refs["pg_commits"]
    s.report.add(
        Row(
            f"main job: the {scale} year, seed {SEED}, stack up → report written "
            f"({requests:,} requests)",
            played,
            "s",
            as_commits,
            "s, its requests as raw single-row commits",
            f"≤ {BUDGET_S:.0f} s" if scale == "district" else "",
            played <= BUDGET_S if scale == "district" else None,
            "cobuild run --no-serve (libs/scenario)",
        )
    )
    phases = ", ".join(f"{name} {sec:.0f} s" for name, sec in timings["phases_s"].items())
    s.section("The main job").append(
        f"- `cobuild run --scale {scale} --seed {SEED} --no-serve` on a stack of its own, after "
        f"the suite's stack stopped: {wall:.0f} s in all with the stack's start and stop; "
        f"{played:.0f} s from the stack being up to the report ({phases}). Its "
        f"{requests:,} requests would take {as_commits:.1f} s as raw single-row commits on "
        "one connection: the rest is the services' work and the waits for consumers to catch "
        "up before business time moves (DESIGN §7)."
    )
