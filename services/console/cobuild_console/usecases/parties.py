"""Party names for the pages, read from the agreements service's directory (organisations
and places only, no personal data) and kept a few minutes: a list of twenty lines names a
handful of parties."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from cobuild_console.gateways.services import ServiceRefusal, ServiceUnavailable
from cobuild_console.runtime import ConsoleRuntime

TTL_S = 300.0


class PartyNames:
    def __init__(self) -> None:
        self._names: dict[str, tuple[float, str]] = {}

    async def of(self, rt: ConsoleRuntime, token: str, party_ids: Iterable[str]) -> dict[str, str]:
        now = time.monotonic()
        wanted = {str(p) for p in party_ids}
        missing = [p for p in wanted if p not in self._names or self._names[p][0] < now]

        async def fetch(party_id: str) -> None:
            try:
                party = await rt.services.get("agreements", f"/parties/{party_id}", token)
            except (ServiceRefusal, ServiceUnavailable):
                return  # the page shows the id's short form instead
            self._names[party_id] = (now + TTL_S, str(party["name"]))

        await asyncio.gather(*(fetch(p) for p in missing))
        return {p: self._names[p][1] for p in wanted if p in self._names}


names = PartyNames()
