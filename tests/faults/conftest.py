"""Fixtures of the fault suite: the undisturbed baseline (one per session) and the table of
results printed at the end (and written to var/faults-results.md for docs/RELIABILITY.md)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from faults_support import RESULTS, SCALE, SEED, Fault, Outcome, run_scenario

RESULTS_FILE = Path(__file__).resolve().parents[2] / "var" / "faults-results.md"


@pytest.fixture(scope="session")
def fault_root() -> Any:
    root = Path(tempfile.mkdtemp(prefix="cobuild-faults-"))
    root.chmod(0o755)  # as root, PostgreSQL runs as nobody and must reach var/pg
    yield root
    if os.environ.get("COBUILD_FAULTS_KEEP"):  # keep logs and differences for a post-mortem
        print(f"fault runs kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def baseline(fault_root: Path) -> AsyncIterator[Outcome]:
    outcome = await run_scenario(fault_root / "baseline", Fault())
    assert not outcome.invariants, outcome.invariants
    RESULTS.append(
        {
            "fault": "baseline (undisturbed)",
            "tried": f"seed {SEED}, scale {SCALE}: {outcome.played.requests} requests",
            "lost": 0,
            "duplicated": 0,
            "changed": 0,
            "500s": outcome.http_5xx[500],
            "invariants": "hold",
            "counted": ", ".join(f"{k} {v}" for k, v in sorted(outcome.counts.items())),
            "notes": "",
            "seconds": round(outcome.seconds),
        }
    )
    yield outcome


def table(rows: list[dict[str, Any]]) -> str:
    columns = (
        "fault",
        "tried",
        "lost",
        "duplicated",
        "changed",
        "500s",
        "invariants",
        "counted",
        "seconds",
    )
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(str(row[c]).replace("|", "/") for c in columns) + " |")
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    text = table(RESULTS)
    terminalreporter.write_sep("=", f"faults (seed {SEED}, scale {SCALE})")
    terminalreporter.write_line(text)
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(text + "\n")
    terminalreporter.write_line(f"(also written to {RESULTS_FILE})")
