"""An expert reads what they score (issue 36): the evaluation service's expert.assigned, kept
by the commitments service's `experts` group, lets the assigned expert read that commitment
and list and download its evidence, and nothing else: its history is not found, every command
is refused (403), another commitment is not found, and so is this one for another expert or
before the assignment has arrived. Against the real PostgreSQL and broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from uuid import UUID, uuid4

import httpx
import pytest
import pytest_asyncio
from cobuild_contracts import ExpertAssigned, PartyKind, PartyRegistered, Role, topics, wrap
from cobuild_kit.clock import FixedClock
from cobuild_kit.service import Runtime
from cobuild_kit.testing import TestIssuer, eventually
from commitments_support import T0, envelope, item, opened, publish, service, settings, signed

DEADLINE = date(2025, 6, 30)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(
    pg_server: object,
    kafka_bootstrap: str,
    issuer: TestIssuer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient, str]]:
    dsn = await pg_server.create_database("commitments_experts")  # type: ignore[attr-defined]
    s = settings(dsn, kafka_bootstrap, tmp_path_factory.mktemp("commitments-experts"))
    async with service(s, issuer, FixedClock(T0)) as (rt, client):
        yield rt, client, kafka_bootstrap


async def _assign(bootstrap: str, expert: UUID, kind: str, subject: UUID) -> ExpertAssigned:
    """expert.assigned on the evaluation topic, as that service's relay publishes it."""
    event = ExpertAssigned(
        assignment_id=uuid4(), expert_id=expert, subject_kind=kind, subject_id=subject,  # type: ignore[arg-type]
        assigned_at=T0,
    )  # fmt: skip
    env = wrap(event, producer="evaluation", occurred_at=T0)
    await publish(bootstrap, env, env, topic=topics.EVALUATION)  # delivered twice: kept once
    return event


async def _kept(rt: Runtime, *assignments: ExpertAssigned) -> None:
    async def there() -> bool:
        async with rt.pool.acquire() as conn:
            n = await conn.fetchval(
                "SELECT count(*) FROM expert_assignments WHERE assignment_id = ANY($1::uuid[])",
                [a.assignment_id for a in assignments],
            )
        return bool(n == len(assignments))

    await eventually(there, timeout=30)


async def test_an_assigned_expert_reads_the_commitment_and_its_evidence_and_nothing_else(
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
    scored = item(unit, community, DEADLINE, title="为助老食堂捐赠一批餐具")
    other = item(unit, community, DEADLINE, title="义诊进社区")
    agreement = signed(community, unit, [scored, other])
    await publish(bootstrap, envelope(agreement))
    cid, oid = scored.commitment_id, other.commitment_id
    await opened(rt, cid, oid)
    unit_admin = issuer.headers(Role.UNIT_ADMIN, unit)
    for commitment_id in (cid, oid):
        r = await c.post(f"/commitments/{commitment_id}/claim", headers=unit_admin)
        assert r.status_code == 200, r.text
        r = await c.post(
            f"/commitments/{commitment_id}/evidence",
            files={"file": ("现场照片.png", PNG, "image/png")},
            headers=unit_admin,
        )
        assert r.status_code == 201, r.text
    (evidence,) = (await c.get(f"/commitments/{cid}/evidence", headers=unit_admin)).json()["items"]
    eid = evidence["evidence_id"]

    expert, another = uuid4(), uuid4()
    me = issuer.headers(Role.EXPERT, expert)
    them = issuer.headers(Role.EXPERT, another)
    reads = (
        f"/commitments/{cid}",
        f"/commitments/{cid}/evidence",
        f"/commitments/{cid}/evidence/{eid}",
    )
    # Before the assignment has arrived, the commitment does not exist for the expert.
    for path in reads:
        r = await c.get(path, headers=me)
        assert r.status_code == 404 and r.json()["message"] == f"no commitment {cid}", path

    assigned = await _assign(bootstrap, expert, "commitment", cid)
    on_agreement = await _assign(bootstrap, another, "agreement", agreement.agreement_id)
    await _kept(rt, assigned, on_agreement)

    # Allowed: the commitment, its evidence listed, the file itself.
    shown = await c.get(f"/commitments/{cid}", headers=me)
    assert shown.status_code == 200, shown.text
    assert shown.json()["title"] == "为助老食堂捐赠一批餐具" and shown.json()["status"] == "claimed"
    listed = await c.get(f"/commitments/{cid}/evidence", headers=me)
    assert listed.status_code == 200, listed.text
    assert [e["evidence_id"] for e in listed.json()["items"]] == [eid]
    got = await c.get(f"/commitments/{cid}/evidence/{eid}", headers=me)
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"] == "image/png"

    # Refused: the history (404), every command (403), the lists and inboxes.
    history = await c.get(f"/commitments/{cid}/history", headers=me)
    assert history.status_code == 404 and history.json()["message"] == f"no commitment {cid}"
    commands = {
        "claim": None,
        "progress": {"percent": 50, "note": "x"},
        "done": {},
        "confirm": {},
        "refuse": {"reason": "x"},
    }
    for command, body in commands.items():
        r = await c.post(f"/commitments/{cid}/{command}", json=body, headers=me)
        assert r.status_code == 403, (command, r.status_code, r.text)
    r = await c.put(
        f"/commitments/{cid}/assignees", json={"member_ids": [str(uuid4())]}, headers=me
    )
    assert r.status_code == 403, r.text
    r = await c.post(
        f"/commitments/{cid}/evidence", files={"file": ("x.png", PNG, "image/png")}, headers=me
    )
    assert r.status_code == 403, r.text
    assert (await c.get("/commitments", headers=me)).status_code == 403
    assert (await c.get(f"/units/{unit}/tasks", headers=me)).status_code == 404

    # Another commitment, even of the same agreement: not found.
    other_evidence = (await c.get(f"/commitments/{oid}/evidence", headers=unit_admin)).json()
    oeid = other_evidence["items"][0]["evidence_id"]
    for path in (f"/commitments/{oid}", f"/commitments/{oid}/evidence",
                 f"/commitments/{oid}/evidence/{oeid}",
                 f"/commitments/{cid}/evidence/{oeid}"):  # fmt: skip
        r = await c.get(path, headers=me)
        assert r.status_code == 404, (path, r.text)

    # Another expert (assigned to the agreement, which grants nothing here): not found.
    for path in reads:
        r = await c.get(path, headers=them)
        assert r.status_code == 404 and r.json()["message"] == f"no commitment {cid}", path

    # The parties still read what they read.
    assert (await c.get(f"/commitments/{cid}/history", headers=unit_admin)).status_code == 200
