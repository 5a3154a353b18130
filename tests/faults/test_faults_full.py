"""The rest of the fault set, run by `make faults`; `make test` runs the
short set only (test_faults_short.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from faults_catalogue import (
    MID,
    BrokerKeptS3,
    BrokerLostReplay,
    BrokerPaused,
    CrashAt,
    KillRandom,
    PoisonAndRedrive,
    PostgresRestarted,
    Redelivery,
)
from faults_check import check_fault
from faults_support import Outcome

# Deselected from `make test` by the `full_faults` marker (see pyproject addopts).
pytestmark = [pytest.mark.slow, pytest.mark.full_faults, pytest.mark.timeout(1200)]


@pytest.mark.parametrize(
    ("point", "service", "again_at"),
    [
        ("consumer.mid_batch", "points", MID),
        ("outbox.after_insert", "commitments", MID),
        # Agreements publishes while parties sign, not during the year: crash on the next hit.
        ("relay.after_publish", "agreements", None),
    ],
)
async def test_crash_at_point(
    baseline: Outcome, fault_root: Path, point: str, service: str, again_at: date | None
) -> None:
    fault = CrashAt(point, service, again_at=again_at)
    await check_fault(fault_root / f"crash-{point}", baseline, fault)


async def test_kill_9_random_services(baseline: Outcome, fault_root: Path) -> None:
    await check_fault(fault_root / "kill-random", baseline, KillRandom())


async def test_broker_restarted_with_data_kept(baseline: Outcome, fault_root: Path) -> None:
    await check_fault(fault_root / "broker-s3", baseline, BrokerKeptS3())


async def test_broker_paused_past_session_timeout(baseline: Outcome, fault_root: Path) -> None:
    await check_fault(fault_root / "broker-paused", baseline, BrokerPaused())


async def test_postgres_restarted(baseline: Outcome, fault_root: Path) -> None:
    await check_fault(fault_root / "postgres", baseline, PostgresRestarted())


async def test_redelivery_from_offset_zero(baseline: Outcome, fault_root: Path) -> None:
    await check_fault(fault_root / "redelivery", baseline, Redelivery())



async def test_poison_on_every_topic_and_redrive(baseline: Outcome, fault_root: Path) -> None:
    """Left the short set (the slowest of it, 68 s in CI: every member.scored exhausts its
    retries) so that `make test` keeps within 20 minutes; the oversized fault there still puts
    poison on every topic."""
    await check_fault(fault_root / "poison", baseline, PoisonAndRedrive())


async def test_broker_restarted_empty_then_replay(baseline: Outcome, fault_root: Path) -> None:
    """Left the short set with the re-drive (38 s in CI) to keep `make test` within 20 minutes;
    tests/kit/test_kit_integration.py replays a lost broker at the kit's level there."""
    await check_fault(fault_root / "broker-empty", baseline, BrokerLostReplay())
