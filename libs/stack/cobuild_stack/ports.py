"""Free ports on the loopback interface."""

from __future__ import annotations

import asyncio
import socket
import time

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port the kernel says is free now (bind to port 0, read it back, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def port_or_free(port: int) -> int:
    """`port` if it can be bound, else a free one; 0 means "any free port"."""
    if port and port_is_free(port):
        return port
    return free_port()


async def wait_for_port(port: int, timeout_s: float, host: str = LOOPBACK) -> bool:
    """True once a TCP connection to host:port succeeds, False after `timeout_s` seconds."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
        except (OSError, TimeoutError):
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return True
    return False
