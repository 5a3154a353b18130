"""Business time for the whole suite: a file clock the driver alone moves, and only when every
service is quiescent (no consumer lag, no unpublished outbox rows)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path

from cobuild_kit.clock import parse_utc, write_clock_file

from cobuild_scenario.actors import SERVICES, Api, ApiError

# The workers that act on business time, and the progress each reports on /ops/lag.
SCANS = (
    ("commitments", "deadlines_scanned_through"),
    ("escalations", "escalations_scanned_through"),
)


def clock_path(setting: str) -> Path:
    if not setting.startswith("file:"):
        raise ValueError(
            f"the stack runs with COBUILD_CLOCK={setting!r}; the scenario needs a file clock"
        )
    return Path(setting.removeprefix("file:"))


class BusinessClock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        return parse_utc(self.path.read_text().strip())

    async def move_to(self, at: datetime, quiet: Quiescence) -> None:
        """Advance (never back), once the suite is quiescent; then wait until the commitments
        service has scanned deadlines, and the escalations service missed limits, through the
        new time (overdue flags and escalations come first)."""
        if at <= self.now():
            return
        await quiet.wait()
        write_clock_file(self.path, at)
        await quiet.wait_for_deadline_scan(at)


# Services that only listen: they publish nothing, and no figure of the year is read from them,
# so business time need not wait for them to catch up at every step (the notifications
# service consumes every topic and mails people; waiting for it at each of the district's 51
# weeks put its whole backlog on the year's path). The driver waits for them once at the end.
LISTENERS = frozenset({"notifications"})


class Quiescence:
    """Every service reports total_lag 0 and outbox_backlog 0, twice in a row (Tansu's end
    offsets can undercount a multi-record batch, so one zero is not proof); with
    `listeners=False`, every service but the LISTENERS."""

    def __init__(
        self, api: Api, token: str, timeout_s: float = 300.0, *, listeners: bool = True
    ) -> None:
        self._api = api
        self._token = token
        self._timeout = timeout_s
        self._skip = frozenset() if listeners else LISTENERS
        self.waits = 0

    async def _quiet_once(self) -> bool:
        try:
            answers = await asyncio.gather(
                *(
                    self._api.request(service, "GET", "/ops/lag", token=self._token)
                    for service in SERVICES
                    if service in self._api.urls and service not in self._skip
                )
            )
        except ApiError as exc:
            if exc.status == 503:  # the broker is away for now: not quiet, ask again
                return False
            raise
        return all(r.json()["total_lag"] == 0 and r.json()["outbox_backlog"] == 0 for r in answers)

    async def wait_for_deadline_scan(self, at: datetime) -> None:
        await asyncio.gather(
            *(
                self._scanned(service, key, at)
                for service, key in SCANS
                if service in self._api.urls
            )
        )

    async def _scanned(self, service: str, key: str, at: datetime) -> None:
        deadline = time.monotonic() + self._timeout
        while True:
            answer = await self._api.request(service, "GET", "/ops/lag", token=self._token)
            scanned = answer.json().get("progress", {}).get(key)
            if scanned is not None and parse_utc(scanned) >= at:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the {service} scan did not reach {at.isoformat()}")
            await asyncio.sleep(0.05)

    async def wait(self) -> None:
        self.waits += 1
        deadline = time.monotonic() + self._timeout
        streak = 0
        while streak < 2:
            if await self._quiet_once():
                streak += 1
                await asyncio.sleep(0.05)
                continue
            streak = 0
            if time.monotonic() > deadline:
                raise TimeoutError(f"the services did not catch up within {self._timeout:g}s")
            await asyncio.sleep(0.1)
