"""The supervisors' reads of the ledger (issue 35) against real PostgreSQL and the broker:
GET /ledger/overdue lists exactly the commitments GET /ledger counts as overdue, at every
scope and date (count and fen), each named; GET /ledger/units gives each unit's figures
within the scope, which sum to the scope's. Who may read: as GET /ledger."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from cobuild_contracts import Role
from cobuild_evaluation.domain.ledger import MEASURES
from cobuild_kit.testing import caught_up, eventually
from evaluation_support import (
    Served,
    World,
    agreement_events,
    commitment_events,
    send,
    served,
)

from tests.brokers import own_broker

pytestmark = pytest.mark.asyncio(loop_scope="session")

DAYS = ("2026-02-27", "2026-02-28", "2026-03-01", "2026-03-31", "2026-04-15", "2026-06-30",
        "2026-07-01", "2026-12-31")  # fmt: skip
COUNTED = [m for m in MEASURES if m != "flagged_overdue"]


# The service's new consumer groups would otherwise read the shared broker's whole history
# first (CI began these tests before the parties arrived); see tests/brokers.py.
kafka_bootstrap = own_broker()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def svc(pg_server: Any, kafka_bootstrap: str) -> AsyncIterator[tuple[Served, World]]:
    dsn = await pg_server.create_database("evaluation_supervision")
    world = World()
    with tempfile.TemporaryDirectory() as tmp:
        async with served(dsn, kafka_bootstrap, Path(tmp)) as s:
            await send(kafka_bootstrap, "agreements", agreement_events(world))
            await send(kafka_bootstrap, "commitments", commitment_events(world))

            # The parties and agreements come on another topic than the ledger's facts, read
            # by another consumer: wait for all three, then for the service's whole catch-up.
            parties = [world.district, world.s1, world.s2, world.c1, world.c2, world.c3,
                       world.u1, world.u2]  # fmt: skip

            async def arrived() -> bool:
                async with s.rt.pool.acquire() as conn:
                    facts = await conn.fetchval(
                        "SELECT count(*) FROM ledger_journal WHERE commitment_id = ANY($1)",
                        list(world.k.values()),
                    )
                    known = await conn.fetchval(
                        "SELECT count(*) FROM party_directory WHERE party_id = ANY($1)", parties
                    )
                    signed = await conn.fetchval(
                        "SELECT count(*) FROM agreements WHERE agreement_id = ANY($1)",
                        [world.a1, world.a2, world.a3],
                    )
                return bool(facts == 10 and known == len(parties) and signed == 3)

            await eventually(arrived, timeout=90)
            await eventually(lambda: caught_up(s.rt), timeout=90)
            yield s, world


async def _get(s: Served, w: World, path: str, **params: Any) -> dict[str, Any]:
    headers = s.issuer.headers(Role.DISTRICT_ADMIN, w.district)
    r = await s.client.get(path, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _scopes(w: World) -> list[tuple[str, Any]]:
    return [
        ("district", w.district),
        ("street", w.s1),
        ("street", w.s2),
        ("community", w.c1),
        ("community", w.c3),
        ("unit", w.u1),
        ("unit", w.u2),
    ]


async def test_the_overdue_list_is_what_the_ledger_counts(svc: tuple[Served, World]) -> None:
    s, w = svc
    for day in DAYS:
        for scope, sid in _scopes(w):
            ledger = await _get(s, w, "/ledger", scope=scope, id=str(sid), as_of=day)
            listed = await _get(s, w, "/ledger/overdue", scope=scope, id=str(sid), as_of=day)
            figures = ledger["figures"]
            assert listed["total"] == figures["overdue"], (scope, day)
            fen = sum(i["committed_fen"] for i in listed["items"])
            assert fen == figures["overdue_fen"], (scope, day)
            for item in listed["items"]:
                late = (date.fromisoformat(day) - date.fromisoformat(item["deadline"])).days
                assert item["days_late"] == late >= 0


async def test_each_overdue_commitment_is_named(svc: tuple[Served, World]) -> None:
    s, w = svc
    march = await _get(
        s, w, "/ledger/overdue", scope="district", id=str(w.district), as_of="2026-03-31"
    )
    assert [i["commitment_id"] for i in march["items"]] == [str(w.k[2])]
    item = march["items"][0]
    assert item["days_late"] == 31 and item["committed_fen"] == 30_000
    assert item["community_name"] == f"花园社区 {w.tag}"
    assert item["street_name"] == f"东街道 {w.tag}" and item["street_id"] == str(w.s1)
    assert item["unit_name"] == f"=恒达公司 {w.tag}"
    # Paid late on 15 April: no longer overdue from that day; item 3 is, from 1 July.
    july = await _get(
        s, w, "/ledger/overdue", scope="district", id=str(w.district), as_of="2026-07-01"
    )
    assert [(i["commitment_id"], i["days_late"]) for i in july["items"]] == [(str(w.k[3]), 1)]
    # Narrowed to another community or unit: nothing.
    none = await _get(
        s, w, "/ledger/overdue", scope="district", id=str(w.district), as_of="2026-07-01",
        community_id=str(w.c1),
    )  # fmt: skip
    assert none["total"] == 0 and none["items"] == []
    mine = await _get(
        s, w, "/ledger/overdue", scope="district", id=str(w.district), as_of="2026-07-01",
        unit_id=str(w.u1), limit=1,
    )  # fmt: skip
    assert mine["total"] == 1 and mine["next_offset"] is None


async def test_the_units_sum_to_their_scope(svc: tuple[Served, World]) -> None:
    s, w = svc
    for day in DAYS:
        for scope, sid in _scopes(w)[:5]:
            ledger = await _get(s, w, "/ledger", scope=scope, id=str(sid), as_of=day)
            units = await _get(
                s, w, "/ledger/units", scope=scope, id=str(sid), as_of=day, agreements="true"
            )
            for m in COUNTED:
                total = sum(u["figures"][m] for u in units["items"])
                assert total == ledger["figures"][m], (scope, day, m)
                for u in units["items"]:
                    assert sum(a["figures"][m] for a in u["agreements"]) == u["figures"][m]
    district = await _get(
        s, w, "/ledger/units", scope="district", id=str(w.district), as_of="2026-12-31"
    )
    assert [u["name"] for u in district["items"]] == [f"=恒达公司 {w.tag}", f"实验学校 {w.tag}"]
    assert [u["agreements_count"] for u in district["items"]] == [2, 1]
    assert "agreements" not in district["items"][0] or district["items"][0]["agreements"] is None
    west = await _get(s, w, "/ledger/units", scope="street", id=str(w.s2), as_of="2026-12-31")
    assert [u["unit_id"] for u in west["items"]] == [str(w.u2)]
    u2 = west["items"][0]["figures"]
    # Item 4 cancelled in May; item 5 fulfilled on time, paid 150 of 200 yuan.
    assert (u2["signed"], u2["cancelled"], u2["fulfilled"], u2["on_time"]) == (2, 1, 1, 1)
    assert u2["fulfilment_rate"] == "1.0000" and u2["fulfilled_fen"] == 15_000


async def test_who_may_read_is_as_for_the_ledger(svc: tuple[Served, World]) -> None:
    s, w = svc
    for path in ("/ledger/overdue", "/ledger/units"):
        own = await s.client.get(
            path, params={"scope": "community", "id": str(w.c1)},
            headers=s.issuer.headers(Role.COMMUNITY_ADMIN, w.c1),
        )  # fmt: skip
        assert own.status_code == 200, own.text
        other_street = await s.client.get(
            path, params={"scope": "street", "id": str(w.s1)},
            headers=s.issuer.headers(Role.STREET_ADMIN, w.s2),
        )  # fmt: skip
        assert other_street.status_code == 404, other_street.text
        member = await s.client.get(
            path, params={"scope": "community", "id": str(w.c1)},
            headers=s.issuer.headers(Role.MEMBER, w.m[1]),
        )  # fmt: skip
        assert member.status_code == 403, member.text
        agreement = await s.client.get(
            path, params={"scope": "agreement", "id": str(w.a1)},
            headers=s.issuer.headers(Role.DISTRICT_ADMIN, w.district),
        )  # fmt: skip
        assert agreement.status_code == 422 and agreement.json()["field"] == "query.scope"
