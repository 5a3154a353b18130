"""A resident's rating link is looked up before they rate (issue 36): the commitment it rates
and whether the code still works (open, used, expired), with no token; an unknown code 404;
the look-up changes nothing and counts against the redemption's per-address bound."""

from __future__ import annotations

from typing import Any

import pytest
from cobuild_contracts import Role
from evaluation_support import Served, World
from test_evaluation_service import h, svc

pytestmark = pytest.mark.asyncio(loop_scope="session")
__all__ = ["svc"]


async def test_a_code_is_looked_up_as_open_used_or_expired(svc: tuple[Served, World]) -> None:
    s, w = svc
    issued = await s.client.post(
        f"/commitments/{w.k[1]}/resident-codes",
        json={"count": 2},
        headers=h(s, Role.COMMUNITY_ADMIN, w.c1),
    )
    assert issued.status_code == 201, issued.text
    code, other = issued.json()["codes"]

    def look(c: str) -> Any:
        return s.client.get(f"/public/resident-codes/{c}", headers={"X-Forwarded-For": "10.0.0.9"})

    first = await look(code)
    assert first.status_code == 200, first.text
    assert first.json()["commitment_id"] == str(w.k[1]) and first.json()["state"] == "open"
    assert (await look(code)).json()["state"] == "open"  # a look uses nothing
    rated = await s.client.post(
        "/public/resident-evaluations",
        json={"code": code, "rating": 4},
        headers={"X-Forwarded-For": "10.0.0.9"},
    )
    assert rated.status_code == 201, rated.text
    assert (await look(code)).json()["state"] == "used"

    async with s.rt.pool.acquire() as conn:
        await conn.execute(
            "UPDATE resident_codes SET expires_at = issued_at - interval '1 minute' "
            "WHERE commitment_id = $1 AND used_at IS NULL",
            w.k[1],
        )
    assert (await look(other)).json()["state"] == "expired"
    unknown = await look("y" * 20)
    assert unknown.status_code == 404
    assert (await look("short")).status_code == 422
