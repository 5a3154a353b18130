"""What every request of the console shares: its settings, one pooled HTTP client for the
services, the provider and the access service, the session store and the business clock."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import httpx
from cobuild_kit.clock import Clock, business_date, clock_from_setting

from cobuild_console.gateways.access import Access
from cobuild_console.gateways.provider import Provider
from cobuild_console.gateways.services import Services
from cobuild_console.sessions import SessionStore
from cobuild_console.settings import ConsoleSettings

# Where `npm ci` puts the front-end packages (services/console/node_modules): the files the
# pages load are served from there by path (http/assets.py), never from a CDN.
NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"


class ConsoleRuntime:
    def __init__(
        self,
        settings: ConsoleSettings,
        *,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        node_modules: Path = NODE_MODULES,
    ) -> None:
        self.settings = settings
        self.clock = clock or clock_from_setting(settings.clock)
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.upstream_timeout_s), transport=transport
        )
        # The access service answers invitations like any other service (its exchange and the
        # invitee's link go through `access` below).
        self.services = Services(
            {**settings.service_urls, "access": settings.access_url}, self.http
        )
        self.provider = Provider(settings, self.http)
        self.access = Access(settings.access_url, self.http)
        self.sessions = SessionStore(
            settings.session_secret,
            settings.session_idle_minutes * 60.0,
            settings.session_max_count,
        )
        self.node_modules = node_modules
        # Evidence photos decoded at once (usecases/evidence_photos): a camera photo takes
        # up to a few hundred milliseconds of a core and 150 MB at the pixel bound.
        self.photo_decoding = asyncio.Semaphore(2)

    def today(self) -> date:
        return business_date(self.clock.now())

    async def aclose(self) -> None:
        await self.http.aclose()
