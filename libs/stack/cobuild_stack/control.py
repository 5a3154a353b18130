"""Acting on a running stack from outside, through var/stack.json: status and down."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from .discovery import StackInfo, read_stack_info, stack_file
from .ports import wait_for_port
from .procs import pid_alive, pid_cmdline, send_signal, terminate_pid, wait_pid_gone


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    address: str
    pid: int | None
    ok: bool
    detail: str


async def probe_stack(info: StackInfo) -> list[ComponentStatus]:
    """Ask every component whether it answers: PostgreSQL, the broker, each /readyz."""
    pg = info["postgres"]
    broker = info["broker"]
    checks = [
        _probe_postgres(pg["admin_url"], pg["port"], pg["pid"]),
        _probe_broker(broker["bootstrap"], broker["pid"]),
        *(_probe_service(name, s["url"], s["pid"]) for name, s in info["services"].items()),
    ]
    if "provider" in info:
        checks.append(_probe_provider(info["provider"]["url"], info["provider"]["pid"]))
    if "mail" in info:
        checks.append(_probe_mail(info["mail"]["smtp_port"], info["mail"]["pid"]))
    return list(await asyncio.gather(*checks))


async def _probe_provider(url: str, pid: int | None) -> ComponentStatus:
    try:
        async with httpx.AsyncClient(timeout=3.0) as client:
            response = await client.get(f"{url}/.well-known/openid-configuration")
    except httpx.HTTPError as exc:
        return ComponentStatus("provider", url, pid, False, f"no answer ({type(exc).__name__})")
    ok = response.status_code == 200
    return ComponentStatus(
        "provider", url, pid, ok, "ready" if ok else f"HTTP {response.status_code}"
    )


async def _probe_mail(smtp_port: int, pid: int | None) -> ComponentStatus:
    ok = await wait_for_port(smtp_port, 2.0)
    address = f"127.0.0.1:{smtp_port}"
    return ComponentStatus("mail", address, pid, ok, "port open" if ok else "port closed")


async def _probe_postgres(admin_url: str, port: int, pid: int | None) -> ComponentStatus:
    address = f"127.0.0.1:{port}"
    try:
        conn = await asyncpg.connect(admin_url, timeout=3)
        await conn.close()
    except Exception as exc:
        return ComponentStatus("postgres", address, pid, False, type(exc).__name__)
    return ComponentStatus("postgres", address, pid, True, "accepting connections")


async def _probe_broker(bootstrap: str, pid: int | None) -> ComponentStatus:
    port = int(bootstrap.rsplit(":", 1)[1])
    ok = await wait_for_port(port, 2.0)
    return ComponentStatus("broker", bootstrap, pid, ok, "port open" if ok else "port closed")


async def _probe_service(name: str, url: str, pid: int | None) -> ComponentStatus:
    try:
        async with httpx.AsyncClient(timeout=3.0) as client:
            response = await client.get(f"{url}/readyz")
    except httpx.HTTPError as exc:
        return ComponentStatus(name, url, pid, False, f"no answer ({type(exc).__name__})")
    ok = response.status_code == 200
    return ComponentStatus(name, url, pid, ok, "ready" if ok else f"HTTP {response.status_code}")


def _environ_has(pid: int, entry: str) -> bool:
    try:
        return entry.encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


async def stop_recorded_stack(var_dir: Path, timeout_s: float = 20.0) -> list[str]:
    """Stop the stack described in var/stack.json; returns what was done, line by line.

    The launcher, if alive, gets SIGTERM and stops everything in order. Whatever is left
    (the launcher was killed) is stopped by pid, checking each pid still is what we started.
    """
    info = read_stack_info(var_dir)
    done: list[str] = []
    launcher = info.get("launcher", {}).get("pid")
    if launcher and launcher != os.getpid() and pid_alive(launcher):
        send_signal(launcher, signal.SIGTERM)
        if await wait_pid_gone(launcher, timeout_s):
            done.append(f"launcher (pid {launcher}) stopped the stack")
        else:
            done.append(f"launcher (pid {launcher}) did not stop in {timeout_s:g}s; going on")
    for name, service in info["services"].items():
        pid = service["pid"]
        if pid and pid_alive(pid) and _environ_has(pid, f"COBUILD_SERVICE={name}"):
            await terminate_pid(pid, 10.0)
            done.append(f"{name} (pid {pid}) stopped")
    # The launcher's other children, each checked to be what it started.
    provider_pid = info.get("provider", {}).get("pid")
    if provider_pid and pid_alive(provider_pid) and "provider_server" in pid_cmdline(provider_pid):
        await terminate_pid(provider_pid, 10.0)
        done.append(f"provider (pid {provider_pid}) stopped")
    mail_pid = info.get("mail", {}).get("pid")
    if mail_pid and pid_alive(mail_pid) and "mailcatcher" in pid_cmdline(mail_pid):
        await terminate_pid(mail_pid, 5.0)
        done.append(f"mail catcher (pid {mail_pid}) stopped")
    pid = info["broker"]["pid"]
    if pid and pid_alive(pid) and "tansu" in pid_cmdline(pid):
        await terminate_pid(pid, 5.0)
        done.append(f"broker (pid {pid}) stopped")
    pid = info["postgres"]["pid"]
    if pid and pid_alive(pid) and "postgres" in pid_cmdline(pid):
        send_signal(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
        if not await wait_pid_gone(pid, 30.0):
            send_signal(pid, signal.SIGKILL)
        done.append(f"postgres (pid {pid}) stopped")
    with contextlib.suppress(FileNotFoundError):
        stack_file(var_dir).unlink()
    return done
