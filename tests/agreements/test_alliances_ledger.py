"""A joint meeting's decision through the whole loop, on real PostgreSQL and the broker: the
agreements service records it, the commitments service opens the commitment from
agreement.signed, the unit fulfils it and the community confirms, and the evaluation service's
fulfilment ledger counts it under the responsible unit, the beneficiary community and the
street, alone with `origin=meeting`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import pytest_asyncio
from agreements_support import NOW, Service, build_world
from cobuild_commitments.app import definition as commitments
from cobuild_commitments.settings import CommitmentsSettings
from cobuild_contracts import Role
from cobuild_evaluation.app import definition as evaluation
from cobuild_evaluation.settings import EvaluationSettings
from cobuild_kit.clock import FixedClock
from cobuild_kit.testing import eventually, running_service
from cobuild_stack.testing import PgServer

pytestmark = pytest.mark.asyncio(loop_scope="session")


@dataclass
class Loop:
    agreements: Service
    commitments: httpx.AsyncClient
    evaluation: httpx.AsyncClient


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def loop(
    agreements_service: Service, pg_server: PgServer, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[Loop]:
    """The commitments and evaluation services beside the agreements service, on fresh
    databases, reading the same topics and trusting the same issuer."""
    verifier = agreements_service.issuer.verifier
    c = CommitmentsSettings(
        database_url=await pg_server.create_database("commitments"),
        kafka_bootstrap=kafka_bootstrap,
        data_dir=tmp_path / "commitments",
        outbox_poll_interval_s=0.2,
        deadline_scan_interval_s=0.2,
    )
    e = EvaluationSettings(
        database_url=await pg_server.create_database("evaluation"),
        kafka_bootstrap=kafka_bootstrap,
        data_dir=tmp_path / "evaluation",
        outbox_poll_interval_s=0.2,
    )
    clock = FixedClock(NOW)
    async with (
        running_service(commitments(c, verifier=verifier, clock=clock)) as (_crt, cclient),
        running_service(evaluation(e, verifier=verifier, clock=clock)) as (_ert, eclient),
    ):
        yield Loop(agreements_service, cclient, eclient)


@pytest.fixture(scope="module")
def tmp_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("alliances-loop")


async def _ok(
    client: httpx.AsyncClient, s: Service, method: str, url: str, role: Role, party: UUID, **kw: Any
) -> Any:
    answer = await client.request(method, url, headers=s.as_(role, party), **kw)
    assert answer.status_code < 300, (url, answer.status_code, answer.text)
    return answer.json()


async def test_a_decision_is_counted_and_fulfilled_like_any_commitment(loop: Loop) -> None:
    s = loop.agreements
    w = await build_world(s)
    street = (Role.STREET_ADMIN, w.street)
    formed = await s.ok(
        "POST",
        "/alliances",
        *street,
        json={
            "host_party_id": str(w.street),
            "name": "和平街道党建联席会议",
            "formed_on": "2025-01-01",
            "member_unit_ids": [str(w.unit), str(w.other_unit)],
        },
    )
    held = await s.ok(
        "POST",
        f"/alliances/{formed['alliance_id']}/meetings",
        *street,
        json={
            "held_on": "2025-02-14",
            "title": "二月联席会议",
            "decisions": [
                {
                    "title": "和兴社区老年食堂改造",
                    "category": "peoples_welfare",
                    "beneficiary_community_id": str(w.community),
                    "deadline": "2025-05-31",
                    "funds_fen": 2_000_000,
                },
                {
                    "title": "和顺社区法律咨询",
                    "category": "quality_service",
                    "beneficiary_community_id": str(w.other_community),
                    "responsible_unit_id": str(w.other_unit),
                    "deadline": "2025-04-30",
                },
            ],
        },
    )
    first, second = held["decisions"]
    cid = first["commitment_id"]

    async def ledger(scope: str, sid: UUID | str, **params: str) -> dict[str, Any]:
        query = {"scope": scope, "id": str(sid), "as_of": "2025-03-01", **params}
        answer: dict[str, Any] = await _ok(
            loop.evaluation, s, "GET", "/ledger", Role.DISTRICT_ADMIN, w.district, params=query
        )
        return answer

    async def counted() -> bool:
        # 404 until the evaluation service has heard of the street (party.registered).
        query = {"scope": "street", "id": str(w.street), "as_of": "2025-03-01"}
        answer = await loop.evaluation.get(
            "/ledger", params=query, headers=s.as_(Role.DISTRICT_ADMIN, w.district)
        )
        return answer.status_code == 200 and answer.json()["figures"]["signed"] == 2

    await eventually(counted, timeout=60)
    # Opened on the day it was recorded (the business date), under the unit and the community.
    unit = (await ledger("unit", w.unit))["figures"]
    assert (unit["signed"], unit["signed_fen"], unit["fulfilled"]) == (1, 2_000_000, 0)
    community = (await ledger("community", w.community))["figures"]
    assert (community["signed"], community["signed_fen"]) == (1, 2_000_000)
    assert (await ledger("community", w.other_community))["figures"]["signed"] == 1
    one = await ledger("commitment", cid)  # the decision's state, read by its commitment id
    assert one["figures"]["signed"] == 1 and one["figures"]["fulfilment_rate"] == "0.0000"

    # The unit does it and reports it done; the community confirms.
    unit_admin = (Role.UNIT_ADMIN, w.unit)
    await _ok(loop.commitments, s, "POST", f"/commitments/{cid}/claim", *unit_admin)
    await _ok(loop.commitments, s, "POST", f"/commitments/{cid}/progress", *unit_admin,
              json={"percent": 100, "note": "已完工", "paid_fen": 2_000_000, "payment_ref": "PAY-1"})  # fmt: skip
    await _ok(loop.commitments, s, "POST", f"/commitments/{cid}/done", *unit_admin, json={})
    await _ok(
        loop.commitments,
        s,
        "POST",
        f"/commitments/{cid}/confirm",
        Role.COMMUNITY_ADMIN,
        w.community,
        json={},
    )

    async def fulfilled() -> bool:
        return (await ledger("commitment", cid))["figures"]["fulfilled"] == 1

    await eventually(fulfilled, timeout=60)
    unit = (await ledger("unit", w.unit))["figures"]
    assert (unit["fulfilled"], unit["fulfilled_fen"], unit["fulfilment_rate"]) == (
        1,
        2_000_000,
        "1.0000",
    )
    street_view = await ledger("street", w.street, origin="meeting")
    assert street_view["origin"] == "meeting"
    figures = street_view["figures"]
    assert (figures["signed"], figures["fulfilled"], figures["fulfilment_rate"]) == (2, 1, "0.5000")
    by_community = {c["id"]: c["figures"] for c in street_view["children"]}
    assert by_community[str(w.community)]["fulfilled"] == 1
    assert by_community[str(w.other_community)]["fulfilled"] == 0
    # Other origins leave the meeting's decisions out.
    assert (await ledger("street", w.street, origin="negotiated"))["figures"]["signed"] == 0
    drill = await ledger("community", w.community, origin="meeting")
    assert [c["id"] for c in drill["children"]] == [first["agreement_id"]]
    assert second["agreement_id"] != first["agreement_id"]
