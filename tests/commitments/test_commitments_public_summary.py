"""A fulfilled commitment's public part (issue 36: a resident rates it from a QR code, with no
account): what was promised and done, without a token; no personal data (no members, notes,
payment reference or evidence); a commitment not yet fulfilled, or unknown, is not found."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from uuid import uuid4

import httpx
import pytest
import pytest_asyncio
from cobuild_contracts import ItemKind, PartyKind, PartyRegistered, Role
from cobuild_kit.clock import FixedClock
from cobuild_kit.service import Runtime
from cobuild_kit.testing import TestIssuer
from commitments_support import T0, envelope, item, opened, publish, service, settings, signed

DEADLINE = date(2025, 6, 30)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(
    pg_server: object,
    kafka_bootstrap: str,
    issuer: TestIssuer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient, str]]:
    dsn = await pg_server.create_database("commitments_public")  # type: ignore[attr-defined]
    s = settings(dsn, kafka_bootstrap, tmp_path_factory.mktemp("commitments-public"))
    async with service(s, issuer, FixedClock(T0)) as (rt, client):
        yield rt, client, kafka_bootstrap


async def test_only_a_fulfilled_commitment_is_shown_and_without_personal_data(
    stack: tuple[Runtime, httpx.AsyncClient, str], issuer: TestIssuer
) -> None:
    rt, c, bootstrap = stack
    street, community, unit = uuid4(), uuid4(), uuid4()
    await publish(
        bootstrap,
        envelope(PartyRegistered(party_id=street, kind=PartyKind.STREET, name="S", version=1)),
        envelope(
            PartyRegistered(
                party_id=community, kind=PartyKind.COMMUNITY, name="C", parent_id=street, version=1
            )
        ),
    )
    it = item(unit, community, DEADLINE, kind=ItemKind.FUNDS, funds_fen=800_000, quantity=2)
    await publish(bootstrap, envelope(signed(community, unit, [it])))
    cid = it.commitment_id
    await opened(rt, cid)
    unit_admin = issuer.headers(Role.UNIT_ADMIN, unit)
    community_admin = issuer.headers(Role.COMMUNITY_ADMIN, community)
    public = f"/public/commitments/{cid}"

    assert (await c.get(public)).status_code == 404  # opened, not fulfilled
    assert (await c.post(f"/commitments/{cid}/claim", headers=unit_admin)).status_code == 200
    progress = {"percent": 100, "note": "王阿姨家已送达", "paid_fen": 800_000,
                "payment_ref": "BANK-7788"}  # fmt: skip
    r = await c.post(f"/commitments/{cid}/progress", json=progress, headers=unit_admin)
    assert r.status_code == 200, r.text
    r = await c.post(f"/commitments/{cid}/done", json={}, headers=unit_admin)
    assert r.status_code == 200, r.text
    assert (await c.get(public)).status_code == 404  # done, awaiting confirmation
    r = await c.post(f"/commitments/{cid}/confirm", json={}, headers=community_admin)
    assert r.status_code == 200, r.text

    shown = await c.get(public)  # no token
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["title"] == it.title and body["quantity"] == 2 and body["paid_fen"] == 800_000
    assert body["deadline"] == DEADLINE.isoformat() and body["on_time"] is True
    assert body["done_date"] == "2025-03-01"
    for private in ("王阿姨", "BANK-7788", "member_ids", "participants", "note", "claimed_by"):
        assert private not in shown.text, private
    missing = await c.get(f"/public/commitments/{uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["message"] == f"no commitment {missing.url.path.rsplit('/', 1)[1]}"
