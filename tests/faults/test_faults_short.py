"""The short fault set `make test` runs, on the whole suite (at most 4 faults): a crash
between the database commit and the offset commit, and what can never be sent whole (an
oversized outbox row in every service, an oversized message, poison, on every topic).
`make test` also covers, at the kit level (tests/kit, tests/stack/test_dlq_deep.py), a relay
killed after publishing, the broker lost and refilled by replay, and the DLQ's re-drive. The
rest, the whole suite's broker loss and re-drive among them, runs with `make faults`."""

from __future__ import annotations

from pathlib import Path

import pytest
from faults_catalogue import CrashAt, Oversized
from faults_check import check_fault
from faults_support import Outcome, compare

pytestmark = pytest.mark.timeout(900)


async def test_crash_after_commit_before_offset_commit(baseline: Outcome, fault_root: Path) -> None:
    await check_fault(
        fault_root / "crash-after-commit",
        baseline,
        CrashAt("consumer.after_commit", "evaluation", times=1),
    )


async def test_oversized_row_and_poison_on_every_topic(baseline: Outcome, fault_root: Path) -> None:
    await check_fault(fault_root / "oversized", baseline, Oversized())


async def test_the_comparison_sees_a_lost_and_a_doubled_effect(baseline: Outcome) -> None:
    """The snapshot is not empty, and `compare` would notice one lost or doubled effect."""
    snap = baseline.snapshot
    for table in ("points.balance", "commitments.commitments", "evaluation.results"):
        assert snap[table], table
    assert sum(1 for row in snap["commitments.commitments"].values() if row["flagged_overdue"])
    balances = dict(snap["points.balance"])
    member, row = next(iter(balances.items()))
    lost = {**snap, "points.balance": {k: v for k, v in balances.items() if k != member}}
    doubled = {**snap, "points.balance": {**balances, member: {**row, "length": row["length"] + 1}}}
    assert [d.kind for d in compare(snap, lost)] == ["lost"]
    assert [d.kind for d in compare(snap, doubled)] == ["duplicated"]
