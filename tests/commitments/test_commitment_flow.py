"""Integration with real PostgreSQL and the broker: opening, the fulfilment flow with evidence,
evidence limits, amendment and termination."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
import pytest_asyncio
from cobuild_contracts import (
    AgreementAmended,
    AgreementTerminated,
    ItemKind,
    PartyKind,
    PartyRegistered,
    Role,
)
from cobuild_kit.clock import FixedClock
from cobuild_kit.service import Runtime
from cobuild_kit.testing import TestIssuer, eventually
from commitments_support import (
    T0,
    envelope,
    item,
    of_type,
    opened,
    publish,
    register_members,
    row,
    service,
    settings,
    settled,
    signed,
    topic_events,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200 + b"lamp photo"
MAX_BYTES = 4096
DEADLINE = date(2025, 6, 30)


class Stack:
    def __init__(self, rt: Runtime, client: httpx.AsyncClient, bootstrap: str, data_dir: Path):
        self.rt, self.client, self.bootstrap, self.data_dir = rt, client, bootstrap, data_dir


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(
    pg_server: object,
    kafka_bootstrap: str,
    issuer: TestIssuer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    dsn = await pg_server.create_database("commitments_flow")  # type: ignore[attr-defined]
    data_dir = tmp_path_factory.mktemp("commitments-data")
    s = settings(dsn, kafka_bootstrap, data_dir, evidence_max_bytes=MAX_BYTES)
    async with service(s, issuer, FixedClock(T0)) as (rt, client):
        yield Stack(rt, client, kafka_bootstrap, data_dir)


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


async def test_signed_agreement_opens_each_commitment_once_even_when_redelivered(
    stack: Stack, issuer: TestIssuer
) -> None:
    community, unit = uuid4(), uuid4()
    items = [
        item(unit, community, DEADLINE, title="Tutoring for 20 children", quantity=20),
        item(community, unit, DEADLINE, title="Venue for the unit's events", kind=ItemKind.VENUE),
    ]
    agreement = signed(community, unit, items)
    env = envelope(agreement)
    await publish(stack.bootstrap, env, env)  # the same event delivered twice
    # And the same agreement republished under a new event id: the upsert absorbs it.
    await publish(stack.bootstrap, envelope(agreement))
    ids = [i.commitment_id for i in items]
    await opened(stack.rt, *ids)
    await settled(stack.rt)

    out = await topic_events(stack.bootstrap, ids)
    for i in items:
        got = of_type(out, "commitment.opened", i.commitment_id)
        assert len(got) == 1, got
        payload = got[0].payload
        assert payload["agreement_id"] == str(agreement.agreement_id)
        assert payload["obligor_party_id"] == str(i.obligor_party_id)
        assert payload["deadline"] == DEADLINE.isoformat()
    assert got[0].causation_id is not None  # caused by the agreement event

    # Queries: by agreement, for each party.
    headers = issuer.headers(Role.UNIT_ADMIN, unit)
    r = await stack.client.get(
        "/commitments", params={"agreement_id": str(agreement.agreement_id)}, headers=headers
    )
    assert r.status_code == 200
    assert {x["commitment_id"] for x in r.json()["items"]} == {str(i) for i in ids}
    # The unit's inbox holds only what the unit owes; the community's, what it owes.
    r = await stack.client.get(f"/units/{unit}/tasks", headers=headers)
    assert [x["commitment_id"] for x in r.json()["items"]] == [str(ids[0])]
    r = await stack.client.get(
        f"/communities/{community}/tasks", headers=issuer.headers(Role.COMMUNITY_ADMIN, community)
    )
    assert [x["commitment_id"] for x in r.json()["items"]] == [str(ids[1])]
    # A stranger sees nothing of it, not even that it exists: the answer to an id that does
    # not exist, word for word.
    stranger = issuer.headers(Role.UNIT_ADMIN, uuid4())
    hidden = await stack.client.get(f"/commitments/{ids[0]}", headers=stranger)
    missing = await stack.client.get(f"/commitments/{(nobody := uuid4())}", headers=stranger)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["message"].replace(str(ids[0]), "?") == missing.json()["message"].replace(
        str(nobody), "?"
    )
    assert hidden.json()["field"] == "path.commitment_id"
    for path in ("history", "evidence", f"evidence/{uuid4()}"):
        r = await stack.client.get(f"/commitments/{ids[0]}/{path}", headers=stranger)
        assert r.status_code == 404 and r.json()["field"] == "path.commitment_id", path
    r = await stack.client.get(f"/units/{unit}/tasks", headers=stranger)
    assert r.status_code == 404 and r.json()["field"] == "path.unit_id"


async def test_claim_progress_evidence_done_refuse_done_confirm_fulfils(
    stack: Stack, issuer: TestIssuer
) -> None:
    street, community, unit = uuid4(), uuid4(), uuid4()
    await publish(
        stack.bootstrap,
        envelope(PartyRegistered(party_id=street, kind=PartyKind.STREET, name="Street", version=1)),
        envelope(
            PartyRegistered(
                party_id=community, kind=PartyKind.COMMUNITY, name="C", parent_id=street, version=1
            )
        ),
    )
    it = item(unit, community, DEADLINE, kind=ItemKind.FUNDS, funds_fen=5_000_000, quantity=10)
    await publish(stack.bootstrap, envelope(signed(community, unit, [it])))
    cid = it.commitment_id
    await opened(stack.rt, cid)
    c = stack.client
    unit_admin = issuer.headers(Role.UNIT_ADMIN, unit)
    community_admin = issuer.headers(Role.COMMUNITY_ADMIN, community)
    m1, m2 = uuid4(), uuid4()
    await register_members(stack.bootstrap, stack.rt, unit, community, m1, m2)

    # Only the obligor's admin claims.
    assert (await c.post(f"/commitments/{cid}/claim", headers=community_admin)).status_code == 403
    r = await c.post(f"/commitments/{cid}/claim", headers=unit_admin)
    assert r.status_code == 200 and r.json()["status"] == "claimed"
    r = await c.post(f"/commitments/{cid}/claim", headers=unit_admin)
    assert r.status_code == 409 and "claimed" in r.json()["message"]

    r = await c.put(
        f"/commitments/{cid}/assignees", json={"member_ids": [str(m1), str(m2)]}, headers=unit_admin
    )
    assert r.status_code == 200
    r = await c.post(
        f"/commitments/{cid}/progress",
        json={"percent": 40, "note": "first half paid", "paid_fen": 2_500_000},
        headers=unit_admin,
    )
    assert r.status_code == 422 and r.json()["field"] == "body.payment_ref"
    r = await c.post(
        f"/commitments/{cid}/progress",
        json={
            "percent": 40,
            "note": "first half paid",
            "paid_fen": 2_500_000,
            "payment_ref": "BANK-0001",
        },
        headers=unit_admin,
    )
    assert r.status_code == 200 and r.json()["status"] == "in_progress"

    r = await c.post(
        f"/commitments/{cid}/evidence",
        files={"file": ("../../etc/receipt.png", PNG, "image/png")},
        headers=unit_admin,
    )
    assert r.status_code == 201, r.text
    ev = r.json()
    assert ev["filename"] == "receipt.png" and ev["content_type"] == "image/png"
    stored = stack.data_dir / "evidence" / ev["sha256"][:2] / ev["sha256"]
    assert stored.read_bytes() == PNG

    # Download: the two parties and the street above the community; no one else.
    url = f"/commitments/{cid}/evidence/{ev['evidence_id']}"
    r = await c.get(url, headers=community_admin)
    assert r.status_code == 200 and r.content == PNG
    street_admin = issuer.headers(Role.STREET_ADMIN, street)

    async def street_sees() -> bool:
        return (await c.get(url, headers=street_admin)).status_code == 200

    await eventually(street_sees, timeout=20)  # once the directory has caught up
    assert (await c.get(url, headers=issuer.headers(Role.STREET_ADMIN, uuid4()))).status_code == 404
    assert (await c.get(url, headers=issuer.headers(Role.UNIT_ADMIN, uuid4()))).status_code == 404
    assert (await c.get(url, headers=issuer.headers(Role.MEMBER, m1))).status_code == 404

    # Confirming before done is illegal and says where it stands.
    r = await c.post(f"/commitments/{cid}/confirm", headers=community_admin)
    assert r.status_code == 409 and "in_progress" in r.json()["message"]

    done_body = {"participants": [{"member_id": str(m1), "hours": "3.5"}], "actual_quantity": 8}
    assert (
        await c.post(f"/commitments/{cid}/done", json=done_body, headers=community_admin)
    ).status_code == 403
    r = await c.post(f"/commitments/{cid}/done", json=done_body, headers=unit_admin)
    assert r.status_code == 200 and r.json()["status"] == "done_pending_confirmation"
    # Only the beneficiary refuses or confirms.
    r = await c.post(f"/commitments/{cid}/refuse", json={"reason": "x"}, headers=unit_admin)
    assert r.status_code == 403
    r = await c.post(
        f"/commitments/{cid}/refuse", json={"reason": "receipt unreadable"}, headers=community_admin
    )
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    assert r.json()["overdue"] is False  # refused before the deadline

    r = await c.post(
        f"/commitments/{cid}/progress",
        json={"percent": 100, "paid_fen": 5_000_000, "payment_ref": "BANK-0002"},
        headers=unit_admin,
    )
    assert r.status_code == 200
    r = await c.post(f"/commitments/{cid}/done", json=done_body, headers=unit_admin)
    assert r.status_code == 200
    # A member assigned to the task cannot confirm it, whatever token it holds.
    as_member = issuer.headers(Role.COMMUNITY_ADMIN, community, subject=str(m1))
    r = await c.post(f"/commitments/{cid}/confirm", headers=as_member)
    assert r.status_code == 403 and "assigned" in r.json()["message"]
    stack.rt.clock.set(T0 + timedelta(days=200))  # type: ignore[attr-defined]
    try:
        r = await c.post(
            f"/commitments/{cid}/confirm",
            json={
                "participants": [
                    {"member_id": str(m1), "hours": "3.5"},
                    {"member_id": str(m2), "hours": "2"},
                ]
            },
            headers=community_admin,
        )
    finally:
        stack.rt.clock.set(T0)  # type: ignore[attr-defined]
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "fulfilled" and r.json()["on_time"] is True

    await settled(stack.rt)
    out = await topic_events(stack.bootstrap, [cid])
    fulfilled = of_type(out, "commitment.fulfilled")
    assert len(fulfilled) == 1
    p = fulfilled[0].payload
    assert p["participants"] == [
        {"member_id": str(m1), "hours": "3.5"},
        {"member_id": str(m2), "hours": "2"},
    ]
    assert (p["committed_quantity"], p["actual_quantity"], p["partial"]) == (10, 8, True)
    assert (p["committed_fen"], p["paid_fen"]) == (5_000_000, 5_000_000)
    assert p["on_time"] is True  # done before the deadline, confirmed after it
    assert p["done_date"] == "2025-03-01" and p["deadline"] == DEADLINE.isoformat()
    assert len(of_type(out, "commitment.confirmation_refused")) == 1
    assert [e.event_type for e in out] == [
        "commitment.opened",
        "task.claimed",
        "task.assigned",
        "commitment.progressed",
        "evidence.submitted",
        "commitment.marked_done",  # published since the notifications service hears of it
        "commitment.confirmation_refused",
        "commitment.progressed",
        "commitment.marked_done",
        "commitment.fulfilled",
    ]

    r = await c.get(f"/commitments/{cid}/history", headers=street_admin)
    assert r.status_code == 200
    assert r.json()["total"] == 10 and r.json()["next_offset"] is None  # whole, by default
    assert [h["event_type"] for h in r.json()["items"]] == [
        "commitment.opened",
        "task.claimed",
        "task.assigned",
        "commitment.progressed",
        "evidence.submitted",
        "commitment.marked_done",
        "commitment.confirmation_refused",
        "commitment.progressed",
        "commitment.marked_done",
        "commitment.fulfilled",
    ]
    # Fulfilled is final.
    r = await c.post(f"/commitments/{cid}/refuse", json={"reason": "late"}, headers=community_admin)
    assert r.status_code == 409 and "fulfilled" in r.json()["message"]


async def test_evidence_over_the_limit_or_of_a_refused_type_is_422_and_leaves_no_file(
    stack: Stack, issuer: TestIssuer
) -> None:
    community, unit = uuid4(), uuid4()
    it = item(unit, community, DEADLINE)
    await publish(stack.bootstrap, envelope(signed(community, unit, [it])))
    cid = it.commitment_id
    await opened(stack.rt, cid)
    unit_admin = issuer.headers(Role.UNIT_ADMIN, unit)
    url = f"/commitments/{cid}/evidence"
    # Before claiming, evidence is out of place.
    r = await stack.client.post(
        url, files={"file": ("a.png", PNG, "image/png")}, headers=unit_admin
    )
    assert r.status_code == 409 and "opened" in r.json()["message"]
    assert (
        await stack.client.post(f"/commitments/{cid}/claim", headers=unit_admin)
    ).status_code == 200

    before = files_under(stack.data_dir)
    too_big = b"%PDF-1.7\n" + b"0" * MAX_BYTES
    cases = [
        ("big.pdf", too_big, "application/pdf"),
        ("notes.txt", b"just some text", "text/plain"),
        ("fake.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png"),  # lies about type
        ("empty.png", b"", "image/png"),
    ]
    for name, content, ctype in cases:
        r = await stack.client.post(url, files={"file": (name, content, ctype)}, headers=unit_admin)
        assert r.status_code == 422, (name, r.text)
        assert r.json()["field"] == "body.file"
    r = await stack.client.post(url, data={"x": "1"}, headers=unit_admin)
    assert r.status_code == 422 and r.json()["field"] == "body.file"
    assert files_under(stack.data_dir) == before
    r = await stack.client.get(url, headers=unit_admin)
    assert r.json()["items"] == [] and r.json()["total"] == 0


async def test_no_orphan_file_when_the_database_write_fails(
    stack: Stack, issuer: TestIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cobuild_commitments.store import evidence as evidence_rows

    community, unit = uuid4(), uuid4()
    it = item(unit, community, DEADLINE)
    await publish(stack.bootstrap, envelope(signed(community, unit, [it])))
    await opened(stack.rt, it.commitment_id)
    unit_admin = issuer.headers(Role.UNIT_ADMIN, unit)
    await stack.client.post(f"/commitments/{it.commitment_id}/claim", headers=unit_admin)

    async def broken(*_: object) -> None:
        raise OSError("database went away")

    monkeypatch.setattr(evidence_rows, "insert_evidence", broken)
    before = files_under(stack.data_dir)
    unique = PNG + uuid4().bytes
    with pytest.raises(OSError, match="went away"):
        await stack.client.post(
            f"/commitments/{it.commitment_id}/evidence",
            files={"file": ("x.png", unique, "image/png")},
            headers=unit_admin,
        )
    assert files_under(stack.data_dir) == before


async def test_amendment_and_termination_cancel_what_is_dropped(
    stack: Stack, issuer: TestIssuer
) -> None:
    community, unit = uuid4(), uuid4()
    a, b = item(unit, community, DEADLINE), item(unit, community, DEADLINE)
    agreement = signed(community, unit, [a, b])
    await publish(stack.bootstrap, envelope(agreement))
    await opened(stack.rt, a.commitment_id, b.commitment_id)
    unit_admin = issuer.headers(Role.UNIT_ADMIN, unit)
    assert (
        await stack.client.post(f"/commitments/{b.commitment_id}/claim", headers=unit_admin)
    ).status_code == 200

    d = item(unit, community, DEADLINE + timedelta(days=30), title="Added later")
    amended = AgreementAmended(
        agreement_id=agreement.agreement_id,
        version=2,
        added_items=[d],
        cancelled_commitment_ids=[a.commitment_id],
        reason="the lighting is repaired by the city",
        amended_at=T0 + timedelta(days=1),
    )
    terminated = AgreementTerminated(
        agreement_id=agreement.agreement_id,
        version=3,
        reason="the unit moved away",
        terminated_at=T0 + timedelta(days=2),
    )
    await publish(stack.bootstrap, envelope(amended), envelope(terminated))
    ids = [a.commitment_id, b.commitment_id, d.commitment_id]

    async def all_cancelled() -> bool:
        return all([(await row(stack.rt, i) or {}).get("status") == "cancelled" for i in ids])

    await eventually(all_cancelled, timeout=30)
    await settled(stack.rt)
    out = await topic_events(stack.bootstrap, ids)
    assert len(of_type(out, "commitment.opened", d.commitment_id)) == 1
    for i in ids:
        cancelled = of_type(out, "commitment.cancelled", i)
        assert len(cancelled) == 1, i
    assert "amendment" in of_type(out, "commitment.cancelled", a.commitment_id)[0].payload["reason"]
    assert (
        "terminated" in of_type(out, "commitment.cancelled", b.commitment_id)[0].payload["reason"]
    )
    r = await stack.client.post(
        f"/commitments/{b.commitment_id}/progress", json={"percent": 5}, headers=unit_admin
    )
    assert r.status_code == 409 and "cancelled" in r.json()["message"]


async def test_query_filters_and_pagination(stack: Stack, issuer: TestIssuer) -> None:
    community, unit = uuid4(), uuid4()
    items = [item(unit, community, DEADLINE + timedelta(days=n)) for n in range(5)]
    await publish(stack.bootstrap, envelope(signed(community, unit, items)))
    await opened(stack.rt, *(i.commitment_id for i in items))
    h = issuer.headers(Role.UNIT_ADMIN, unit)
    await stack.client.post(f"/commitments/{items[4].commitment_id}/claim", headers=h)
    r = await stack.client.get(f"/units/{unit}/tasks", params={"limit": 2}, headers=h)
    page = r.json()
    assert page["total"] == 5 and page["next_offset"] == 2
    assert [x["deadline"] for x in page["items"]] == [
        str(DEADLINE),
        str(DEADLINE + timedelta(days=1)),
    ]
    r = await stack.client.get(f"/units/{unit}/tasks", params={"status": "claimed"}, headers=h)
    assert [x["commitment_id"] for x in r.json()["items"]] == [str(items[4].commitment_id)]
    r = await stack.client.get(
        f"/units/{unit}/tasks",
        params={
            "deadline_from": str(DEADLINE + timedelta(days=1)),
            "deadline_to": str(DEADLINE + timedelta(days=2)),
        },
        headers=h,
    )
    assert r.json()["total"] == 2
    r = await stack.client.get(
        f"/units/{unit}/tasks", params={"community_id": str(uuid4())}, headers=h
    )
    assert r.json()["total"] == 0
    r = await stack.client.get(f"/units/{unit}/tasks", params={"status": "bogus"}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "query.status"
    r = await stack.client.get(
        "/commitments", params={"unit_id": str(unit), "status": "opened"}, headers=h
    )
    assert r.json()["total"] == 4
    r = await stack.client.get(
        "/commitments", params={"unit_id": str(unit)}, headers=issuer.headers(Role.MEMBER, uuid4())
    )
    assert r.status_code == 403


async def test_evidence_downloads_as_what_its_bytes_are(stack: Stack, issuer: TestIssuer) -> None:
    """The download's name takes the extension of the sniffed type, not of the uploaded name,
    and `nosniff` forbids a browser to guess another type; the evidence list is a page."""
    community, unit = uuid4(), uuid4()
    it = item(unit, community, DEADLINE)
    await publish(stack.bootstrap, envelope(signed(community, unit, [it])))
    cid = it.commitment_id
    await opened(stack.rt, cid)
    unit_admin = issuer.headers(Role.UNIT_ADMIN, unit)
    assert (await stack.client.post(f"/commitments/{cid}/claim", headers=unit_admin)).is_success
    uploads = [
        ("invoice.html", PNG, "text/html", "image/png", 'attachment; filename="invoice.png"'),
        (
            "照片.jpeg",
            PNG + b"2",
            "image/jpeg",
            "image/png",
            "filename*=utf-8''%E7%85%A7%E7%89%87.png",
        ),
        (
            "a;b<c>.exe",
            b"%PDF-1.4\n%%EOF",
            "application/x-msdownload",
            "application/pdf",
            '"a_b_c_.pdf"',
        ),
    ]
    ids = []
    for name, content, claimed, real, disposition in uploads:
        r = await stack.client.post(
            f"/commitments/{cid}/evidence",
            files={"file": (name, content, claimed)},
            headers=unit_admin,
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["evidence_id"])
        r = await stack.client.get(f"/commitments/{cid}/evidence/{ids[-1]}", headers=unit_admin)
        assert r.status_code == 200 and r.content == content
        assert r.headers["content-type"] == real
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-disposition"].startswith("attachment;")
        assert disposition in r.headers["content-disposition"], r.headers["content-disposition"]

    r = await stack.client.get(
        f"/commitments/{cid}/evidence", params={"limit": 2}, headers=unit_admin
    )
    page = r.json()
    assert (page["total"], page["limit"], page["next_offset"]) == (3, 2, 2)
    r = await stack.client.get(
        f"/commitments/{cid}/evidence", params={"offset": 2}, headers=unit_admin
    )
    # One instant of the test clock: uploaded_at ties, the evidence id breaks them.
    assert sorted(e["evidence_id"] for e in page["items"] + r.json()["items"]) == sorted(ids)
    assert r.json()["next_offset"] is None
    r = await stack.client.get(
        f"/commitments/{cid}/history", params={"limit": 1, "offset": 1}, headers=unit_admin
    )
    assert [h["event_type"] for h in r.json()["items"]] == ["task.claimed"]
    assert r.json()["next_offset"] == 2 and r.json()["total"] == 5
