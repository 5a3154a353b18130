"""Small process helpers shared by the PostgreSQL, broker and service supervisors."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

_PR_SET_PDEATHSIG = 1
# Loaded in the parent: a child between fork and exec should not have to open a library.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` for a child that must not outlive the launcher, even a SIGKILLed one:
    the kernel sends the child SIGTERM when the thread that spawned it dies (Linux only;
    elsewhere None, and the child is stopped by the launcher's own shutdown alone)."""
    libc = _LIBC
    if libc is None:
        return None
    parent = os.getpid()

    def arm() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the launcher died before the signal was armed
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


def pid_alive(pid: int) -> bool:
    """True if `pid` runs and is not a zombie (a reaped-never orphan still answers kill 0)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" not in status


def pid_cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def send_signal(pid: int, sig: signal.Signals) -> bool:
    """Signal a pid; False if it was already gone."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


async def wait_pid_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def terminate_pid(pid: int, timeout_s: float) -> None:
    """SIGTERM, then SIGKILL if it is still there after `timeout_s` seconds (for non-children)."""
    if not send_signal(pid, signal.SIGTERM):
        return
    if not await wait_pid_gone(pid, timeout_s):
        send_signal(pid, signal.SIGKILL)
        await wait_pid_gone(pid, 5.0)


async def terminate(proc: asyncio.subprocess.Process, timeout_s: float) -> int:
    """SIGTERM a child, SIGKILL it after `timeout_s` seconds; returns its exit code."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
    return await proc.wait()


def tail(path: Path, lines: int = 20) -> list[str]:
    """The last lines of a log file (empty if it does not exist)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read()
    except OSError:
        return []
    return data.decode(errors="replace").splitlines()[-lines:]
