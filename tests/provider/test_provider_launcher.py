"""The launcher starts the provider and the mail catcher beside PostgreSQL and the broker,
publishes them in var/stack.json, tells the console and the access service about them, keeps
them up, and stops them with the stack. The services are stand-ins (tests/stack)."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from cobuild_stack.accounts import client_credentials, introspect
from cobuild_stack.control import probe_stack
from cobuild_stack.discovery import read_stack_info
from cobuild_stack.launcher import Stack, StackConfig, StackEvent
from cobuild_stack.procs import pid_alive, wait_pid_gone
from cobuild_stack.provider import ProviderSettings

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.integration]

FAKE_DIR = Path(__file__).resolve().parents[1] / "stack"
SERVICES = ("console", "access")


@pytest.fixture(scope="module")
def root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="cobuild-provider-launcher-"))
    path.chmod(0o755)  # as root, PostgreSQL runs as nobody and must reach var/pg
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(root: Path) -> AsyncIterator[tuple[Stack, list[StackEvent]]]:
    events: list[StackEvent] = []
    config = StackConfig.from_env(
        {},
        var_dir=root / "var",
        services=SERVICES,
        module_pattern="fake_service",
        service_ports={name: 0 for name in SERVICES},
        partitions=1,
        test_mode=True,
        max_restarts=1,
        stop_timeout=5.0,
        extra_env={"PYTHONPATH": str(FAKE_DIR)},
        provider=ProviderSettings(port=0),
    )
    running = Stack(config, on_event=events.append)
    started = time.monotonic()
    await running.start()
    print(f"stack with provider and mail catcher up in {time.monotonic() - started:.1f}s")
    try:
        yield running, events
    finally:
        await running.stop()


async def test_stack_json_names_the_provider_and_the_mail_catcher(
    stack: tuple[Stack, list[StackEvent]],
) -> None:
    running, _ = stack
    info = read_stack_info(running.var_dir)
    provider, mail = info["provider"], info["mail"]
    assert provider["issuer"] == provider["url"] and provider["url"].startswith("http://127.0.0.1:")
    assert provider["scim_url"] == provider["issuer"] + "/scim/v2"
    assert provider["token_endpoint"] == provider["issuer"] + "/oauth/token"
    assert set(provider["clients"]) == {"console", "integration", "access"}
    console_url = running.services["console"].url
    assert provider["clients"]["console"]["redirect_uri"] == console_url + "/signin/callback"
    assert mail["smtp_host"] == "127.0.0.1"
    assert Path(mail["log"]).parent == running.var_dir / "mail"
    assert await asyncio.to_thread((running.var_dir / "provider" / "canaille.toml").exists)
    # Its database is made as the services' ones are: a login role of its own.
    assert "provider" in (running.identity.provider.database_url if running.identity else "")
    statuses = {s.name: s for s in await probe_stack(info)}
    assert statuses["provider"].ok and statuses["mail"].ok


async def test_the_console_and_access_are_told_about_the_provider(
    stack: tuple[Stack, list[StackEvent]],
) -> None:
    running, _ = stack
    info = read_stack_info(running.var_dir)
    provider = info["provider"]
    async with httpx.AsyncClient() as client:
        console = (await client.get(f"{running.services['console'].url}/env")).json()
        access = (await client.get(f"{running.services['access'].url}/env")).json()
    assert console["COBUILD_CONSOLE_OIDC_ISSUER"] == provider["issuer"]
    assert console["COBUILD_CONSOLE_OIDC_CLIENT_ID"] == "cobuild-console"
    assert console["COBUILD_CONSOLE_PUBLIC_URL"] == running.services["console"].url
    assert access["COBUILD_ACCESS_PROVIDER_ISSUER"] == provider["issuer"]
    assert access["COBUILD_ACCESS_PROVIDER_CLIENT_ID"] == "cobuild-access"
    secret = provider["clients"]["access"]["client_secret"]
    assert access["COBUILD_ACCESS_PROVIDER_CLIENT_SECRET"] == secret
    assert json.loads(access["COBUILD_ACCESS_PROVIDER_AUDIENCES"]) == [
        "cobuild-console",
        "cobuild-access",
    ]
    assert access["COBUILD_ACCESS_SMTP_PORT"] == str(info["mail"]["smtp_port"])
    # What they were told works: the integration's token, introspected as access does it.
    token = await client_credentials(provider, provider["clients"]["integration"])
    assert (await introspect(provider, token.access_token))["active"] is True


async def test_a_provider_that_exits_is_restarted_then_stopped_with_the_stack(
    stack: tuple[Stack, list[StackEvent]],
) -> None:
    running, events = stack
    assert running.identity is not None and running.identity.provider is not None
    provider = running.identity.provider
    stop = asyncio.Event()
    supervisor = asyncio.create_task(running.run_until(stop))
    first = provider.pid
    assert first is not None
    try:
        provider.proc.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
        async with asyncio.timeout(90):
            while True:
                if any(e.component == "provider" and "running again" in e.message for e in events):
                    break
                await asyncio.sleep(0.1)
        assert provider.pid != first
        assert read_stack_info(running.var_dir)["provider"]["pid"] == provider.pid
        assert not pid_alive(first)
    finally:
        stop.set()
        await supervisor
    pids = [provider.pid, running.identity.mail.pid if running.identity.mail else None]
    await running.stop()
    for pid in pids:
        assert pid is not None and await wait_pid_gone(pid, 10.0)
