"""The browser's address reaches every service (issue 36): the console forwards it as
X-Forwarded-For on each call of its service gateway and of the access gateway, so the
evaluation service tells a resident from the worker who printed the codes, and the access
service's per-address limits count people. Without a browser (a background job), nothing is
forwarded."""

from __future__ import annotations

from typing import Any

import httpx
from cobuild_console.gateways.access import Access
from cobuild_console.gateways.services import Services, browser_address

RESIDENT = "203.0.113.7"


def _recording() -> tuple[list[httpx.Request], httpx.AsyncClient]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body: Any = {"items": [], "next_offset": None}
        if request.url.path == "/exchange":
            body = {"access_token": "t", "role": "member", "party_id": "p", "expires_in": 900}
        return httpx.Response(200, json=body)

    return seen, httpx.AsyncClient(transport=httpx.MockTransport(answer))


async def test_every_call_carries_the_browsers_address() -> None:
    seen, http = _recording()
    services = Services({n: f"http://{n}" for n in ("evaluation", "commitments")}, http)
    access = Access("http://access", http)
    token = browser_address.set(RESIDENT)
    try:
        await services.get("commitments", "/commitments/1", "tok")
        await services.post("evaluation", "/commitments/1/resident-codes", "tok", {"count": 1})
        await services.upload(
            "commitments", "/commitments/1/evidence", "tok", filename="a.png",
            content=b"\x89PNG", content_type="image/png", idempotency_key="k",
        )  # fmt: skip
        await services.every("evaluation", "/expert-assignments", "tok")
        await access.exchange("provider-token", None)
        await access.grants("tok")
    finally:
        browser_address.reset(token)
    assert len(seen) == 6
    assert [r.headers.get("x-forwarded-for") for r in seen] == [RESIDENT] * 6
    assert all(r.headers.get("authorization") for r in seen if r.url.path != "/exchange")

    seen.clear()
    await services.get("commitments", "/commitments/1", "tok")  # no browser: nothing forwarded
    assert "x-forwarded-for" not in seen[0].headers
    await http.aclose()
