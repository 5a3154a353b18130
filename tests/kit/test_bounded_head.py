"""A request head over the bound is refused with 431 before the parser gathers it; normal
requests, keep-alive included, still pass (the hardening issue's 'Unbounded request headers')."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
import uvicorn
from cobuild_kit.bounded_head import bounded_head
from cobuild_kit.service import server_options
from cobuild_kit.settings import ServiceSettings
from cobuild_stack.ports import free_port
from starlette.types import Receive, Scope, Send


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest_asyncio.fixture(loop_scope="session")
async def server() -> AsyncIterator[int]:
    port = free_port()
    config = uvicorn.Config(
        _app, host="127.0.0.1", port=port, http=bounded_head(16 * 1024), log_config=None
    )
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve())
    while not srv.started:  # noqa: ASYNC110 - uvicorn offers no event for it
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        srv.should_exit = True
        await task


async def test_a_huge_header_gets_431_and_the_connection_closes(server: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server)
    # Twice the bound, and the head not even finished: without the bound the server would
    # go on gathering it (and this read would wait in vain).
    writer.write(b"GET / HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 32 * 1024)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:80]
    writer.close()


async def test_normal_requests_pass_and_keep_alive_counts_each_head_afresh(server: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server}") as client:
        # 3 × 10 KiB heads on one connection: each is under the 16 KiB bound on its own.
        for _ in range(3):
            answer = await client.get("/", headers={"x-note": "n" * 10 * 1024})
            assert answer.status_code == 200
        too_big = await client.get("/", headers={"x-note": "n" * 20 * 1024})
        assert too_big.status_code == 431


async def test_forwarded_addresses_are_believed_only_from_the_configured_proxies() -> None:
    """The hardening issue's "Rate limits trust X-Forwarded-For from any local client": a
    client rotating the header got a fresh bucket each time. Served with the kit's options,
    the address a handler sees is the peer's unless the peer is a configured proxy."""
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["client"][0])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    for trusted, expected in (("", "127.0.0.1"), ("127.0.0.1", "10.9.8.7")):
        options = server_options(ServiceSettings(port=free_port(), trusted_proxies=trusted))
        srv = uvicorn.Server(uvicorn.Config(app, **options))
        task = asyncio.create_task(srv.serve())
        while not srv.started:  # noqa: ASYNC110 - uvicorn offers no event for it
            await asyncio.sleep(0.01)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{options['port']}") as c:
                await c.get("/", headers={"x-forwarded-for": "10.9.8.7"})
        finally:
            srv.should_exit = True
            await task
        assert seen[-1] == expected, trusted
