"""The points service against real PostgreSQL and the real broker: a member's year driven over
HTTP and Kafka into a verifiable balance, with no personal data on the wire."""

from __future__ import annotations

import asyncio
import io
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition
from cobuild_contracts import (
    CommitmentFulfilled,
    CommitmentOpened,
    Grade,
    ItemKind,
    MemberScored,
    Role,
    encode,
    headers,
    topics,
    wrap,
)
from cobuild_contracts.events.commitments import Participant
from cobuild_kit.actor import person_party_id
from cobuild_kit.clock import FixedClock
from cobuild_kit.db import connect
from cobuild_kit.service import Runtime
from cobuild_kit.testing import TestIssuer, caught_up, eventually, running_service
from cobuild_points.app import definition
from cobuild_points.settings import PointsSettings
from cobuild_points.usecases import awards, points
from cobuild_stack.testing import PgServer, create_topics, produce
from openpyxl import Workbook

T0 = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
NAME = "测试员甲"


@dataclass
class Env:
    rt: Runtime
    http: httpx.AsyncClient
    clock: FixedClock
    issuer: TestIssuer
    dsn: str
    bootstrap: str
    community: UUID
    unit: UUID

    def as_(self, role: Role, party: UUID) -> dict[str, str]:
        return self.issuer.headers(role, party)

    @property
    def admin(self) -> dict[str, str]:
        return self.as_(Role.COMMUNITY_ADMIN, self.community)

    @property
    def unit_admin(self) -> dict[str, str]:
        return self.as_(Role.UNIT_ADMIN, self.unit)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(
    pg_server: PgServer, kafka_bootstrap: str, tmp_path_factory: Any
) -> AsyncIterator[Env]:
    names = [t for topic in topics.ALL_TOPICS for t in (topic, topics.dlq(topic))]
    await create_topics(kafka_bootstrap, names)
    dsn = await pg_server.create_database("points")
    issuer, clock = TestIssuer(), FixedClock(T0)
    settings = PointsSettings(
        database_url=dsn,
        kafka_bootstrap=kafka_bootstrap,
        data_dir=Path(tmp_path_factory.mktemp("points")),
        outbox_poll_interval_s=0.2,
    )
    service = definition(settings, verifier=issuer.verifier, clock=clock)
    async with running_service(service) as (rt, client):
        yield Env(rt, client, clock, issuer, dsn, kafka_bootstrap, uuid4(), uuid4())


def phone() -> str:
    return "139" + "".join(secrets.choice("0123456789") for _ in range(8))


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def reported_member(env: Env, name: str = NAME) -> tuple[UUID, str, dict[str, str]]:
    """Registered by the unit, reported to and accepted by the community."""
    number = phone()
    body = {"name": name, "phone": number, "unit_id": str(env.unit),
            "community_id": str(env.community)}  # fmt: skip
    member = await ok(await env.http.post("/members", json=body, headers=env.unit_admin), 201)
    member_id = UUID(member["member_id"])
    me = env.as_(Role.MEMBER, member_id)
    await ok(await env.http.post(f"/members/{member_id}/report", json={}, headers=me))
    accepted = await ok(
        await env.http.post(f"/members/{member_id}/report/accept", headers=env.admin)
    )
    assert accepted["status"] == "reported" and accepted["community_id"] == str(env.community)
    return member_id, number, me


async def publish_activity(
    env: Env, start: datetime, hours: int, capacity: int = 10
) -> dict[str, Any]:
    body = {"community_id": str(env.community), "title": "楼道清扫", "category": "happy_compound",
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=hours)).isoformat(),
            "place": "3号楼", "capacity": capacity, "rule_code": "activity_attendance"}  # fmt: skip
    return await ok(await env.http.post("/activities", json=body, headers=env.admin), 201)  # type: ignore[no-any-return]


async def read_topic(bootstrap: str, topic: str, want: Callable[[list[bytes]], bool],
                     timeout: float = 15.0) -> list[bytes]:  # fmt: skip
    """Every message value on `topic` from the beginning, re-read until `want` holds."""
    deadline = time.monotonic() + timeout
    while True:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                    enable_auto_commit=False, fetch_max_wait_ms=20)  # fmt: skip
        await consumer.start()
        try:
            parts = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(parts)]
            consumer.assign(tps)
            await consumer.seek_to_beginning()
            ends = await consumer.end_offsets(tps)
            values: list[bytes] = []
            while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    values.extend(r.value for r in records if r.value is not None)
        finally:
            await consumer.stop()
        if want(values) or time.monotonic() > deadline:
            return values
        await asyncio.sleep(0.3)


def mentioning(values: list[bytes], *ids: UUID) -> list[bytes]:
    return [v for v in values if any(str(i).encode() in v for i in ids)]


async def produce_event(env: Env, event: Any, *, times: int = 1) -> None:
    envelope = wrap(event, producer="test", occurred_at=env.clock.now())
    raw, hdrs = encode(envelope), {k: v.encode() for k, v in headers(envelope).items()}
    await produce(env.bootstrap, event.TOPIC, [(envelope.key.encode(), raw, hdrs)] * times)


def opened_for(fulfilled: CommitmentFulfilled) -> CommitmentOpened:
    """The open a fulfilment follows: points awards only commitments it heard opened."""
    return CommitmentOpened(
        commitment_id=fulfilled.commitment_id, agreement_id=fulfilled.agreement_id,
        community_id=fulfilled.community_id, unit_id=fulfilled.unit_id,
        obligor_party_id=fulfilled.obligor_party_id,
        beneficiary_party_id=fulfilled.beneficiary_party_id, title="楼道清扫",
        kind=ItemKind.TASK, category="happy_compound", deadline=fulfilled.deadline,
        opened_at=T0,
    )  # fmt: skip


async def balance(env: Env, member_id: UUID, me: dict[str, str]) -> Decimal:
    data = await ok(await env.http.get(f"/members/{member_id}/points?year=2026", headers=me))
    return Decimal(data["balance"])


async def test_a_member_year_over_http_and_kafka(env: Env) -> None:
    member_id, number, me = await reported_member(env)
    assert (await ok(await env.http.get(f"/members/{member_id}", headers=me)))["name"] == NAME

    # Activity 10:00–12:00 Shanghai: sign up, check in with the code, confirm 2 h → 4 points.
    activity = await publish_activity(env, T0 + timedelta(hours=1), hours=2)
    aid = activity["activity_id"]
    await ok(await env.http.post(f"/activities/{aid}/sign-ups", headers=me), 201)
    again = await env.http.post(f"/activities/{aid}/sign-ups", headers=me)
    assert again.status_code == 409
    early = await env.http.post(
        f"/activities/{aid}/check-in", json={"code": activity["check_in_code"]}, headers=me
    )
    assert early.status_code == 409 and "window" in early.json()["message"]
    env.clock.set(T0 + timedelta(hours=1, minutes=30))
    wrong = await env.http.post(f"/activities/{aid}/check-in", json={"code": "x"}, headers=me)
    assert wrong.status_code == 422 and wrong.json()["field"] == "body.code"
    await ok(
        await env.http.post(
            f"/activities/{aid}/check-in", json={"code": activity["check_in_code"]}, headers=me
        )
    )
    twice = await env.http.post(
        f"/activities/{aid}/check-in", json={"code": activity["check_in_code"]}, headers=me
    )
    assert twice.status_code == 409
    attend = {"member_id": str(member_id), "hours": "2"}
    self_confirm = await env.http.post(f"/activities/{aid}/attendances", json=attend, headers=me)
    assert self_confirm.status_code == 403
    too_long = {"member_id": str(member_id), "hours": "2.5"}
    refused = await env.http.post(
        f"/activities/{aid}/attendances", json=too_long, headers=env.admin
    )
    assert refused.status_code == 422 and refused.json()["field"] == "body.hours"
    confirmed = await ok(
        await env.http.post(f"/activities/{aid}/attendances", json=attend, headers=env.admin)
    )
    assert (
        confirmed["entry"]["points"] == "4.00"
        and confirmed["entry"]["rule_set_version"] == "2026-v1"
    )
    assert await balance(env, member_id, me) == Decimal("4.00")

    # An overlapping activity (11:30–13:30) cannot also be confirmed.
    overlap = await publish_activity(env, T0 + timedelta(hours=1, minutes=30), hours=2)
    oid = overlap["activity_id"]
    await ok(await env.http.post(f"/activities/{oid}/sign-ups", headers=me), 201)
    await ok(
        await env.http.post(
            f"/activities/{oid}/check-in", json={"code": overlap["check_in_code"]}, headers=me
        )
    )
    clash = await env.http.post(
        f"/activities/{oid}/attendances",
        json={"member_id": str(member_id), "hours": "1"},
        headers=env.admin,
    )
    assert clash.status_code == 409 and "same time" in clash.json()["message"]

    # A fulfilled commitment naming the member for 2 h, delivered twice: 6 points, once.
    commitment = uuid4()
    fulfilled = CommitmentFulfilled(
        commitment_id=commitment, agreement_id=uuid4(), community_id=env.community,
        unit_id=env.unit, obligor_party_id=env.unit, beneficiary_party_id=env.community,
        participants=[Participant(member_id=member_id, hours=Decimal("2"))],
        committed_quantity=1, actual_quantity=1, partial=False, committed_fen=0, paid_fen=0,
        deadline=date(2026, 3, 31), done_at=T0, done_date=date(2026, 3, 1), confirmed_at=T0,
        on_time=True,
    )  # fmt: skip
    await produce_event(env, opened_for(fulfilled))  # points hears of it first
    await produce_event(env, fulfilled, times=2)

    async def task_booked() -> bool:
        return await balance(env, member_id, me) == Decimal("10.00")

    await eventually(task_booked, timeout=30)
    await eventually(lambda: caught_up(env.rt), timeout=20)
    assert await balance(env, member_id, me) == Decimal("10.00")
    history = await ok(await env.http.get(f"/members/{member_id}/points?year=2026", headers=me))
    task_entries = [e for e in history["entries"]["items"] if e["rule_code"] == "task"]
    assert len(task_entries) == 1 and task_entries[0]["points"] == "6.00"

    # The ledger's own unique key refuses the same cause again, even past the inbox.
    async with env.rt.unit_of_work() as uow:
        again_entry = await awards.award(uow.conn, uow.emit, awards.AwardRequest(
            member_id=member_id, rule_code="task", hours=Decimal("2"),
            cause_event_id=UUID(task_entries[0]["cause_event_id"]), business_date=date(2026, 3, 1),
            source_id=commitment, community_id=env.community, unit_id=env.unit, at=T0,
            what="replay"))  # fmt: skip
    assert again_entry is None

    # A reversal by the community admin; the member cannot; a second one is refused.
    entry_id = task_entries[0]["entry_id"]
    reason = {"reason": "participant list was wrong"}
    assert (
        await env.http.post(f"/points/entries/{entry_id}/reversal", json=reason, headers=me)
    ).status_code == 403
    reversal = await ok(
        await env.http.post(f"/points/entries/{entry_id}/reversal", json=reason, headers=env.admin),
        201,
    )
    assert reversal["points"] == "-6.00" and reversal["reverses_entry_id"] == entry_id
    assert (
        await env.http.post(f"/points/entries/{entry_id}/reversal", json=reason, headers=env.admin)
    ).status_code == 409
    assert await balance(env, member_id, me) == Decimal("4.00")

    # A micro-wish: publish, claim, done, confirm → 5 more points.
    wish = await ok(
        await env.http.post(
            "/wishes",
            json={"community_id": str(env.community), "title": "帮独居老人换灯泡"},
            headers=env.admin,
        ),
        201,
    )
    wid = wish["wish_id"]
    await ok(await env.http.post(f"/wishes/{wid}/claim", headers=me))
    await ok(await env.http.post(f"/wishes/{wid}/done", headers=me))
    done = await ok(await env.http.post(f"/wishes/{wid}/confirm", headers=env.admin))
    assert done["status"] == "fulfilled" and done["entry"]["points"] == "5.00"
    assert await balance(env, member_id, me) == Decimal("9.00")

    # The unit admin sees totals only; the community totals match.
    unit_view = await ok(
        await env.http.get(f"/members/{member_id}/points?year=2026", headers=env.unit_admin)
    )
    assert unit_view["balance"] == "9.00" and unit_view["entries"] is None
    assert (await env.http.get(f"/members/{member_id}", headers=env.unit_admin)).status_code == 404
    totals = await ok(
        await env.http.get(f"/units/{env.unit}/points?year=2026", headers=env.unit_admin)
    )
    assert {m["member_id"]: m["balance"] for m in totals["items"]}[str(member_id)] == "9.00"
    # Outside the unit admin's reach: as if it did not exist.
    assert (
        await env.http.get(f"/communities/{env.community}/points?year=2026", headers=env.unit_admin)
    ).status_code == 404

    # points.awarded (×3) and points.reversed for this member are on the topic.
    await eventually(lambda: caught_up(env.rt), timeout=20)

    def complete(values: list[bytes]) -> bool:
        mine = mentioning(values, member_id)
        return sum(b'"points.awarded"' in v for v in mine) >= 3 and any(
            b'"points.reversed"' in v for v in mine
        )

    values = await read_topic(env.bootstrap, topics.POINTS, complete)
    mine = mentioning(values, member_id, UUID(aid), UUID(oid), UUID(wid))
    assert complete(values), "points.awarded/points.reversed not all published"
    for kind in (b"member.reported", b"activity.published", b"activity.signed_up",
                 b"attendance.confirmed", b"wish.claimed", b"wish.fulfilled"):  # fmt: skip
        assert any(kind in v for v in mine), kind

    # Personal data never leaves: neither the name nor the phone is in any of these bytes.
    for value in mine:
        assert NAME.encode() not in value and number.encode() not in value
        assert NAME.encode("unicode_escape") not in value

    # The member's own export holds their data.
    export = await env.http.get(f"/members/{member_id}/export", headers=me)
    assert export.status_code == 200 and export.json()["member"]["phone"] == number
    assert len(export.json()["points_entries"]) == 4
    other = await env.http.get(f"/members/{member_id}/export", headers=env.admin)
    assert other.status_code == 404 and other.json()["field"] == "path.member_id"


async def test_verify_passes_then_names_the_entry_altered_in_sql(env: Env) -> None:
    member_id, _, me = await reported_member(env, "审计员")
    env.clock.set(T0 + timedelta(days=2, hours=1, minutes=30))
    activity = await publish_activity(env, T0 + timedelta(days=2, hours=1), hours=3)
    aid = activity["activity_id"]
    await ok(await env.http.post(f"/activities/{aid}/sign-ups", headers=me), 201)
    await ok(
        await env.http.post(
            f"/activities/{aid}/check-in", json={"code": activity["check_in_code"]}, headers=me
        )
    )
    await ok(
        await env.http.post(
            f"/activities/{aid}/attendances",
            json={"member_id": str(member_id), "hours": "3"},
            headers=env.admin,
        )
    )
    report = await ok(await env.http.get("/points/verify?year=2026", headers=env.admin))
    assert report["ok"] is True and report["entries_checked"] >= 1
    assert (await env.http.get("/points/verify?year=2026", headers=me)).status_code == 403

    conn = await connect(env.dsn)
    try:
        entry_id = await conn.fetchval(
            "SELECT entry_id FROM points_entry WHERE member_id = $1", member_id
        )
        try:
            await conn.execute("UPDATE points_entry SET points = 60 WHERE entry_id = $1", entry_id)
            raise AssertionError("the journal accepted an UPDATE")
        except Exception as exc:  # the append-only trigger
            assert "append-only" in str(exc)
        # A tamperer with the table owner's rights switches the guard off first.
        await conn.execute("ALTER TABLE points_entry DISABLE TRIGGER points_entry_append_only")
        await conn.execute("UPDATE points_entry SET points = 60 WHERE entry_id = $1", entry_id)
        await conn.execute("ALTER TABLE points_entry ENABLE TRIGGER points_entry_append_only")
        direct = await points.verify_year(conn, 2026)
    finally:
        await conn.close()
    assert not direct.ok and direct.first_bad is not None
    assert direct.first_bad.entry_id == entry_id and "altered" in direct.first_bad.problem
    over_http = await ok(await env.http.get("/points/verify?year=2026", headers=env.admin))
    assert over_http["ok"] is False and over_http["first_bad"]["entry_id"] == str(entry_id)


async def test_capacity_holds_under_concurrent_sign_ups(env: Env) -> None:
    env.clock.set(T0)
    _a, _, me_a = await reported_member(env, "李四")
    _b, _, me_b = await reported_member(env, "王五")
    activity = await publish_activity(env, T0 + timedelta(days=5), hours=1, capacity=1)
    url = f"/activities/{activity['activity_id']}/sign-ups"
    results = await asyncio.gather(
        env.http.post(url, headers=me_a), env.http.post(url, headers=me_b)
    )
    assert sorted(r.status_code for r in results) == [201, 409]
    assert any("full" in r.json().get("message", "") for r in results if r.status_code == 409)


async def test_stale_wishes_are_flagged(env: Env) -> None:
    env.clock.set(T0)
    wish = await ok(
        await env.http.post(
            "/wishes",
            json={"community_id": str(env.community), "title": "旧书捐赠"},
            headers=env.admin,
        ),
        201,
    )
    url = f"/communities/{env.community}/wishes?stale=true"
    assert wish["wish_id"] not in {
        w["wish_id"] for w in (await ok(await env.http.get(url, headers=env.admin)))["items"]
    }
    env.clock.set(T0 + timedelta(days=15))
    assert wish["wish_id"] in {
        w["wish_id"] for w in (await ok(await env.http.get(url, headers=env.admin)))["items"]
    }
    env.clock.set(T0)


async def test_roster_import_is_all_or_nothing(env: Env) -> None:
    good, bad = phone(), phone()
    csv_text = (f"name,phone,unit_id,community_id,grid_id\n周一,{good},{env.unit},{env.community},\n"
                f"吴二,12,{env.unit},{env.community},\n")  # fmt: skip
    files = {"file": ("members.csv", csv_text.encode(), "text/csv")}
    refused = await env.http.post("/members/import", files=files, headers=env.unit_admin)
    assert refused.status_code == 422
    assert refused.json()["rows"] == [
        {"row": 3, "field": "phone", "message": refused.json()["rows"][0]["message"]}
    ]
    async with env.rt.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM member WHERE phone = $1", good) == 0

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["name", "phone", "unit_id", "community_id", "grid_id"])
    sheet.append(["周一", int(good), str(env.unit), str(env.community), None])
    sheet.append(["吴二", bad, str(env.unit), str(env.community), None])
    buffer = io.BytesIO()
    book.save(buffer)
    xlsx = {"file": ("members.xlsx", buffer.getvalue(), "application/octet-stream")}
    foreign = await env.http.post(
        "/members/import", files=xlsx, headers=env.as_(Role.UNIT_ADMIN, uuid4())
    )
    assert foreign.status_code == 422 and {r["field"] for r in foreign.json()["rows"]} == {
        "unit_id"
    }
    imported = await ok(
        await env.http.post("/members/import", files=xlsx, headers=env.unit_admin), 201
    )
    assert imported["imported"] == 2


async def test_honour_roll_masks_names_unless_opted_in(env: Env) -> None:
    member_id, _, me = await reported_member(env, "欧阳明")
    scored = MemberScored(
        assessment_id=uuid4(), year=2026, policy_version="2026-v1", member_id=member_id,
        community_id=env.community, unit_id=env.unit, score=Decimal("95.5"),
        grade=Grade.EXCELLENT, rank_in_community=1,
    )  # fmt: skip
    await produce_event(env, scored)
    url = f"/public/communities/{env.community}/honour-roll?year=2026"

    async def listed() -> bool:
        return bool((await ok(await env.http.get(url)))["items"])

    await eventually(listed, timeout=30)
    assert (await ok(await env.http.get(url)))["items"][0]["name"] == "欧阳*"
    await ok(
        await env.http.patch(
            f"/members/{member_id}/preferences", json={"show_full_name": True}, headers=me
        )
    )
    assert (await ok(await env.http.get(url)))["items"][0]["name"] == "欧阳明"


async def test_transfer_and_leave_publish_ids_only(env: Env) -> None:
    member_id, number, me = await reported_member(env, "迁移者")
    elsewhere = uuid4()  # a community of the parties directory (a transfer's target must be)
    async with env.rt.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO party_directory (party_id, kind, name, version) "
            "VALUES ($1, 'community', '新社区', 1)",
            elsewhere,
        )
    same = await env.http.post(f"/members/{member_id}/transfer",
                               json={"to_community_id": str(env.community)}, headers=me)  # fmt: skip
    assert same.status_code == 422 and same.json()["field"] == "body.to_community_id"
    moved = await ok(await env.http.post(f"/members/{member_id}/transfer",
                                         json={"to_community_id": str(elsewhere)}, headers=env.admin))  # fmt: skip
    assert moved["community_id"] == str(elsewhere)
    # The old community no longer looks after the member: to it, the member does not exist.
    hidden = await env.http.get(f"/members/{member_id}", headers=env.admin)
    unknown_id = uuid4()
    unknown = await env.http.get(f"/members/{unknown_id}", headers=env.admin)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json() == {
        k: v.replace(str(unknown_id), str(member_id)) for k, v in unknown.json().items()
    }
    left = await ok(
        await env.http.post(f"/members/{member_id}/leave", json={"reason": "退休"}, headers=me)
    )
    assert left["status"] == "left"
    again = await env.http.post(f"/members/{member_id}/leave", json={"reason": "x"}, headers=me)
    assert again.status_code == 409

    def both(values: list[bytes]) -> bool:
        mine = mentioning(values, member_id)
        return any(b'"member.transferred"' in v for v in mine) and any(
            b'"member.left"' in v for v in mine
        )

    values = await read_topic(env.bootstrap, topics.POINTS, both)
    assert both(values)
    assert all(
        number.encode() not in v and "迁移者".encode() not in v
        for v in mentioning(values, member_id)
    )


# --- bulk commands: all or nothing, the single commands' events ------------------------------


async def registered_payloads(env: Env, after: int) -> list[dict[str, Any]]:
    """The envelopes of `member.registered` in the outbox beyond row id `after`."""
    async with env.rt.pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT envelope FROM outbox WHERE event_type = 'member.registered' AND id > $1
               ORDER BY id""",
            after,
        )
    return [json.loads(r["envelope"]) if isinstance(r["envelope"], str) else r["envelope"]
            for r in rows]  # fmt: skip


async def last_outbox_id(env: Env) -> int:
    async with env.rt.pool.acquire() as conn:
        return int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox"))


async def test_each_registration_publishes_member_registered_with_ids_only(env: Env) -> None:
    """Single, bulk and import: one `member.registered` per new member, keyed by the member
    id, carrying the member and unit ids and the time, and neither name nor phone."""
    start = await last_outbox_id(env)
    number = phone()
    body = {"name": "登记甲", "phone": number, "unit_id": str(env.unit),
            "community_id": str(env.community)}  # fmt: skip
    single = await ok(await env.http.post("/members", json=body, headers=env.unit_admin), 201)
    bulk_phones = [phone() for _ in range(3)]
    items = [{"name": f"登记乙{i}", "phone": p, "community_id": str(env.community)}
             for i, p in enumerate(bulk_phones)]  # fmt: skip
    bulk = await ok(
        await env.http.post(
            f"/units/{env.unit}/members/bulk", json={"members": items}, headers=env.unit_admin
        ),
        201,
    )
    import_phones = [phone() for _ in range(2)]
    csv_text = "name,phone,unit_id,community_id,grid_id\n" + "".join(
        f"登记丙{i},{p},{env.unit},{env.community},\n" for i, p in enumerate(import_phones)
    )
    files = {"file": ("members.csv", csv_text.encode(), "text/csv")}
    imported = await ok(
        await env.http.post("/members/import", files=files, headers=env.unit_admin), 201
    )
    async with env.rt.pool.acquire() as conn:
        import_ids = [str(r["member_id"]) for r in await conn.fetch(
            "SELECT member_id FROM member WHERE phone = ANY($1) ORDER BY phone", import_phones
        )]  # fmt: skip
    assert imported["imported"] == 2 and len(import_ids) == 2

    envelopes = await registered_payloads(env, start)
    expected = [single["member_id"], *(m["member_id"] for m in bulk["items"])]
    keys = [e["key"] for e in envelopes]
    assert keys[:4] == expected and sorted(keys[4:]) == sorted(import_ids)
    assert len(keys) == len(set(keys)) == 6  # once per member
    for envelope in envelopes:
        payload = envelope["payload"]
        assert set(payload) == {"member_id", "unit_id", "registered_at"}
        assert payload["member_id"] == envelope["key"] and payload["unit_id"] == str(env.unit)
        text = json.dumps(envelope, ensure_ascii=False)
        assert "登记" not in text
        assert not any(p in text for p in [number, *bulk_phones, *import_phones])


async def outbox_rows(env: Env) -> list[tuple[str, str]]:
    """(event_type, key) of every outbox row so far, in order."""
    async with env.rt.pool.acquire() as conn:
        rows = await conn.fetch("SELECT event_type, key FROM outbox ORDER BY id")
    return [(r["event_type"], r["key"]) for r in rows]


async def registered(env: Env, count: int) -> list[UUID]:
    body = {"members": [{"name": f"批量{i}", "phone": phone(), "community_id": str(env.community)}
                        for i in range(count)]}  # fmt: skip
    answer = await ok(
        await env.http.post(f"/units/{env.unit}/members/bulk", json=body, headers=env.unit_admin),
        201,
    )
    return [UUID(m["member_id"]) for m in answer["items"]]


async def statuses(env: Env, ids: list[UUID]) -> dict[UUID, str]:
    async with env.rt.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT member_id, status FROM member WHERE member_id = ANY($1::uuid[])", ids
        )
    return {r["member_id"]: r["status"] for r in rows}


async def test_bulk_register_refuses_a_taken_phone_naming_the_item_only(env: Env) -> None:
    _, taken, _ = await reported_member(env, "已登记")
    fresh = [phone() for _ in range(3)]
    items = [{"name": f"新人{i}", "phone": p, "community_id": str(env.community)}
             for i, p in enumerate([*fresh, taken])]  # fmt: skip
    url = f"/units/{env.unit}/members/bulk"
    before = await outbox_rows(env)
    refused = await env.http.post(url, json={"members": items}, headers=env.unit_admin)
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert [f["field"] for f in body["fields"]] == ["body.members.3.phone"]
    # No more than the single registration says: not whose phone it is, nor where.
    single = await env.http.post(
        "/members", json={**items[3], "unit_id": str(env.unit)}, headers=env.unit_admin
    )
    assert single.status_code == 409 and single.json()["message"] in body["fields"][0]["message"]
    assert "已登记" not in refused.text and str(env.unit) not in body["fields"][0]["message"]
    async with env.rt.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM member WHERE phone = ANY($1)", fresh) == 0
    assert await outbox_rows(env) == before

    foreign = await env.http.post(
        url, json={"members": items[:3]}, headers=env.as_(Role.UNIT_ADMIN, uuid4())
    )
    assert foreign.status_code == 403
    # One who may not register these members learns nothing of which phones are taken.
    stranger = await env.http.post(
        url, json={"members": items}, headers=env.as_(Role.COMMUNITY_ADMIN, uuid4())
    )
    assert stranger.status_code == 403 and "already registered" not in stranger.text
    too_many = {"members": [items[0]] * 1001}
    bound = await env.http.post(url, json=too_many, headers=env.unit_admin)
    assert bound.status_code == 422 and bound.json()["field"] == "body.members"

    done = await ok(
        await env.http.post(url, json={"members": items[:3]}, headers=env.unit_admin), 201
    )
    assert done["registered"] == 3 and [m["phone"] for m in done["items"]] == fresh
    # Registering publishes member.registered once per member, as one at a time does.
    new_ids = [m["member_id"] for m in done["items"]]
    assert await outbox_rows(env) == [*before, *(("member.registered", i) for i in new_ids)]


async def test_bulk_accept_is_all_or_nothing_and_emits_each_member_reported(env: Env) -> None:
    ids = await registered(env, 5)
    for member_id in ids:
        me = env.as_(Role.MEMBER, member_id)
        await ok(await env.http.post(f"/members/{member_id}/report", json={}, headers=me))
    (idle,) = await registered(env, 1)  # registered, never asked to report here
    url = f"/communities/{env.community}/reports/accept"
    before = await outbox_rows(env)

    refused = await env.http.post(
        url, json={"member_ids": [str(i) for i in [*ids, idle]]}, headers=env.admin
    )
    assert refused.status_code == 404, refused.text
    assert [f["field"] for f in refused.json()["fields"]] == ["body.member_ids.5"]
    assert set((await statuses(env, ids)).values()) == {"requested"}
    assert await outbox_rows(env) == before
    stranger = await env.http.post(
        url, json={"member_ids": [str(ids[0])]}, headers=env.as_(Role.COMMUNITY_ADMIN, uuid4())
    )
    assert stranger.status_code == 403

    accepted = await ok(await env.http.post(url, json={"member_ids": [str(i) for i in ids]},
                                            headers=env.admin))  # fmt: skip
    assert accepted["changed"] == 5
    assert [m["status"] for m in accepted["items"]] == ["reported"] * 5
    assert await outbox_rows(env) == [*before, *(("member.reported", str(i)) for i in ids)]

    again = await ok(await env.http.post(url, json={"member_ids": [str(i) for i in ids]},
                                         headers=env.admin))  # fmt: skip
    assert again["changed"] == 0 and all(not m["changed"] for m in again["items"])
    assert len(await outbox_rows(env)) == len(before) + 5

    decline = f"/communities/{env.community}/reports/decline"
    asking = await registered(env, 2)
    for member_id in asking:
        me = env.as_(Role.MEMBER, member_id)
        await ok(await env.http.post(f"/members/{member_id}/report", json={}, headers=me))
    mixed = {"member_ids": [str(asking[0]), str(ids[0]), str(asking[1])], "reason": "满员"}
    conflict = await env.http.post(decline, json=mixed, headers=env.admin)
    assert conflict.status_code == 409 and conflict.json()["fields"][0]["field"] == (
        "body.member_ids.1"
    )
    assert set((await statuses(env, asking)).values()) == {"requested"}
    good = {"member_ids": [str(i) for i in asking], "reason": "满员，请致电13800138000"}
    declined = await ok(await env.http.post(decline, json=good, headers=env.admin))
    assert [m["status"] for m in declined["items"]] == ["registered"] * 2
    # Each decline publishes member.report_declined, in the request's order, as single
    # declines would (after the two registrations' member.registered).
    rows = await outbox_rows(env)
    assert rows[len(before) + 5 + 2 :] == [("member.report_declined", str(i)) for i in asking]
    async with env.rt.pool.acquire() as conn:
        payloads = await conn.fetch(
            "SELECT envelope->'payload' AS payload FROM outbox"
            " WHERE event_type = 'member.report_declined' ORDER BY id"
        )
    sent = [json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"]
            for r in payloads[-2:]]  # fmt: skip
    assert {p["community_id"] for p in sent} == {str(env.community)}
    assert {p["reason"] for p in sent} == {"满员，请致电138********"}  # no phone on the wire


async def test_a_declined_report_publishes_why_with_numbers_masked(env: Env) -> None:
    [member_id] = await registered(env, 1)
    me = env.as_(Role.MEMBER, member_id)
    await ok(await env.http.post(f"/members/{member_id}/report", json={}, headers=me))
    before = await outbox_rows(env)
    url = f"/members/{member_id}/report/decline"
    body = {"reason": "不住本社区（身份证110101199003071234）"}
    done = await ok(await env.http.post(url, json=body, headers=env.admin))
    assert done["status"] == "registered"
    assert (await outbox_rows(env))[len(before) :] == [("member.report_declined", str(member_id))]
    async with env.rt.pool.acquire() as conn:
        raw = await conn.fetchval(
            "SELECT envelope->'payload' FROM outbox WHERE event_type = 'member.report_declined'"
            " AND key = $1",
            str(member_id),
        )
    payload = json.loads(raw) if isinstance(raw, str) else raw
    assert payload["reason"] == "不住本社区（身份证110" + "*" * 15 + "）"
    assert payload["community_id"] == str(env.community) and payload["member_id"] == str(member_id)
    # Declined already: the member asks this community nothing now, so its admin may not.
    again = await env.http.post(url, json=body, headers=env.admin)
    assert again.status_code == 403
    assert len(await outbox_rows(env)) == len(before) + 1


async def test_bulk_attendance_is_all_or_nothing_and_awards_as_single_confirms(env: Env) -> None:
    start = T0 + timedelta(days=20)
    env.clock.set(start)
    activity = await publish_activity(env, start, hours=3)
    aid = activity["activity_id"]
    people = [await reported_member(env, f"志愿者{i}") for i in range(4)]
    for n, (_, _, me) in enumerate(people):
        await ok(await env.http.post(f"/activities/{aid}/sign-ups", headers=me), 201)
        if n < 3:  # the fourth signs up but never checks in
            env.clock.set(start + timedelta(minutes=10))
            await ok(await env.http.post(f"/activities/{aid}/check-in",
                                         json={"code": activity["check_in_code"]}, headers=me))  # fmt: skip
    url = f"/activities/{aid}/attendances/bulk"
    items = [{"member_id": str(m), "hours": "2"} for m, _, _ in people]
    before = await outbox_rows(env)

    refused = await env.http.post(url, json={"attendance": items}, headers=env.admin)
    assert refused.status_code == 409, refused.text
    assert [f["field"] for f in refused.json()["fields"]] == ["body.attendance.3"]
    too_long = [{**items[0], "hours": "3.5"}, *items[1:3]]
    invalid = await env.http.post(url, json={"attendance": too_long}, headers=env.admin)
    assert invalid.status_code == 422
    assert invalid.json()["fields"][0]["field"] == "body.attendance.0.hours"
    async with env.rt.pool.acquire() as conn:
        assert await conn.fetchval(
            "SELECT count(*) FROM signup WHERE activity_id = $1 AND confirmed_at IS NOT NULL",
            UUID(aid),
        ) == 0  # fmt: skip
    assert await outbox_rows(env) == before

    done = await ok(await env.http.post(url, json={"attendance": items[:3]}, headers=env.admin))
    assert done["confirmed"] == 3
    assert [e["entry"]["points"] for e in done["items"]] == ["4.00"] * 3
    new = (await outbox_rows(env))[len(before) :]
    expected = [
        (kind, str(m))
        for m, _, _ in people[:3]
        for kind in ("attendance.confirmed", "points.awarded")
    ]
    assert sorted(new) == sorted(expected)
    for member_id, _, me in people[:3]:
        assert await balance(env, member_id, me) == Decimal("4.00")

    again = await ok(await env.http.post(url, json={"attendance": items[:3]}, headers=env.admin))
    assert again["confirmed"] == 0 and len(await outbox_rows(env)) == len(before) + 6
    env.clock.set(T0)


# --- documented rules (the API description's "Rules") -----------------------------------------


async def test_task_points_carry_the_done_date_and_late_work_leaves_published_scores(
    env: Env,
) -> None:
    """Work done on 30 December, confirmed on 5 January after the year's assessment was
    published: booked in the December's year (its done_date), in the balance at once; the
    published score (and so the honour roll) unchanged until a re-publication."""
    member_id, _, me = await reported_member(env, "年末人")
    scored = MemberScored(
        assessment_id=uuid4(), year=2026, policy_version="2026-v1", member_id=member_id,
        community_id=env.community, unit_id=env.unit, score=Decimal("88"),
        grade=Grade.EXCELLENT, rank_in_community=1,
    )  # fmt: skip
    late = CommitmentFulfilled(
        commitment_id=uuid4(), agreement_id=uuid4(), community_id=env.community,
        unit_id=env.unit, obligor_party_id=env.unit, beneficiary_party_id=env.community,
        participants=[Participant(member_id=member_id, hours=Decimal("1"))],
        committed_quantity=1, actual_quantity=1, partial=False, committed_fen=0, paid_fen=0,
        deadline=date(2026, 12, 31), done_at=datetime(2026, 12, 30, 2, tzinfo=UTC),
        done_date=date(2026, 12, 30), confirmed_at=datetime(2027, 1, 5, 2, tzinfo=UTC),
        on_time=True,
    )  # fmt: skip
    async with env.rt.unit_of_work() as uow:
        from cobuild_points.usecases import honours

        await honours.record_score(uow.conn, scored)

        async def emit(event: Any, _cause: Any) -> Any:
            return await uow.emit(event)

        envelope = wrap(late, producer="test", occurred_at=late.confirmed_at)
        (entry,) = await awards.award_tasks(uow.conn, emit, [(envelope, late)])
    assert entry["business_date"] == date(2026, 12, 30) and entry["year"] == 2026
    history = await ok(await env.http.get(f"/members/{member_id}/points?year=2026", headers=me))
    assert history["balance"] == "3.00"
    assert [e["business_date"] for e in history["entries"]["items"]] == ["2026-12-30"]
    roll = await ok(
        await env.http.get(f"/public/communities/{env.community}/honour-roll?year=2026")
    )
    assert {(m["name"], m["score"]) for m in roll["items"]} >= {("年*", "88.00")}

    described = (await ok(await env.http.get("/openapi.json")))["info"]["description"]
    assert "`done_date`" in described and "re-publishes" in described


async def _reported_events(env: Env, *member_ids: UUID) -> dict[UUID, dict[str, Any]]:
    """The payload of each member's `member.reported` in the outbox."""
    async with env.rt.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT key, envelope FROM outbox WHERE event_type = 'member.reported' "
            "AND key = ANY($1::text[])",
            [str(m) for m in member_ids],
        )
    return {UUID(r["key"]): r["envelope"]["payload"] for r in rows}


async def test_a_signed_in_person_reports_as_their_member_and_the_event_names_them(
    env: Env,
) -> None:
    """Issue 33's self-service path: a `person` token (no grant yet) reports as the member
    its unit registered by naming the member and the unit; the accepted report's
    `member.reported` carries the person's subject, so the access service can grant the
    member role. A member token reports as before, with no subject."""

    def person(subject: str, party: UUID | None = None) -> dict[str, str]:
        return env.issuer.headers(Role.PERSON, party or person_party_id(subject), subject=subject)

    async def registered() -> UUID:
        body = {"name": "自助甲", "phone": phone(), "unit_id": str(env.unit),
                "community_id": str(env.community)}  # fmt: skip
        made = await ok(await env.http.post("/members", json=body, headers=env.unit_admin), 201)
        return UUID(made["member_id"])

    mine, theirs = await registered(), await registered()
    me, other = f"oidc|{uuid4()}", f"oidc|{uuid4()}"
    right = {"unit_id": str(env.unit)}

    async def report(member: UUID, body: dict[str, str], headers: dict[str, str]) -> Any:
        return await env.http.post(f"/members/{member}/report", json=body, headers=headers)

    missing = await report(mine, {}, person(me))
    assert missing.status_code == 422 and missing.json()["field"] == "body.unit_id"
    wrong = await report(mine, {"unit_id": str(uuid4())}, person(me))
    unknown = await report(uuid4(), right, person(me))
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == {**unknown.json(), "message": wrong.json()["message"]}
    forged = await report(mine, right, person(me, party=uuid4()))  # not the person's own party
    assert forged.status_code == 403

    asked = await ok(await report(mine, right, person(me)))
    assert asked["status"] == "requested" and asked["requested_community_id"] == str(env.community)
    assert (await report(mine, right, person(me))).status_code == 200  # again: harmless
    taken = await report(mine, right, person(other))
    assert taken.status_code == 409 and "another sign-in" in taken.json()["message"]
    second = await report(theirs, right, person(me))
    assert second.status_code == 409 and str(mine) in second.json()["message"]

    await ok(await env.http.post(f"/members/{mine}/report/accept", headers=env.admin))
    await ok(await env.http.post(f"/members/{theirs}/report", json={},
                                 headers=env.as_(Role.MEMBER, theirs)))  # fmt: skip
    accepted = await env.http.post(
        f"/communities/{env.community}/reports/accept",
        json={"member_ids": [str(theirs)]},
        headers=env.admin,
    )
    assert accepted.status_code == 200, accepted.text
    events = await _reported_events(env, mine, theirs)
    assert events[mine]["subject"] == me
    assert events[theirs]["subject"] is None


async def test_a_unit_admin_lists_its_members_by_name_without_phones(env: Env) -> None:
    """The workbench's picker of members for a task: names (the unit registered them), never
    phones; anyone but the unit's admin finds no such unit."""
    member_id, number, _ = await reported_member(env, "任务指派甲")
    found = await ok(await env.http.get(f"/units/{env.unit}/members", headers=env.unit_admin))
    mine = {m["member_id"]: m for m in found["items"]}
    assert mine[str(member_id)]["name"] == "任务指派甲"
    assert mine[str(member_id)]["status"] == "reported"
    assert number not in str(found) and "phone" not in mine[str(member_id)]
    assert found["total"] == len(found["items"]) and found["unit_id"] == str(env.unit)
    for stranger in (env.admin, env.as_(Role.UNIT_ADMIN, uuid4())):
        refused = await env.http.get(f"/units/{env.unit}/members", headers=stranger)
        assert refused.status_code == 404, refused.text


async def test_the_community_admin_reports_and_signs_up_a_member_on_their_behalf(env: Env) -> None:
    """代录: a member without a phone reports, and signs up for an activity, at the counter
    of the community they live in; its admin enters it for them. Another community's admin
    may not, and a member still signs up only themself."""
    (member_id,) = await registered(env, 1)
    stranger = env.as_(Role.COMMUNITY_ADMIN, uuid4())
    report = f"/members/{member_id}/report"
    refused = await env.http.post(report, json={}, headers=stranger)
    assert refused.status_code == 403, refused.text
    assert (await statuses(env, [member_id]))[member_id] == "registered"
    asked = await ok(await env.http.post(report, json={}, headers=env.admin))
    assert asked["status"] == "requested"
    assert asked["requested_community_id"] == str(env.community)
    await ok(await env.http.post(f"/members/{member_id}/report/accept", headers=env.admin))

    activity = await publish_activity(env, env.clock.now() + timedelta(days=2), 2)
    url = f"/activities/{activity['activity_id']}/sign-ups"
    body = {"member_id": str(member_id)}
    assert (await env.http.post(url, json=body, headers=stranger)).status_code == 403
    other_member = env.as_(Role.MEMBER, uuid4())
    assert (await env.http.post(url, json=body, headers=other_member)).status_code == 403
    signed = await ok(await env.http.post(url, json=body, headers=env.admin), 201)
    assert signed["member_id"] == str(member_id)
    again = await env.http.post(url, json=body, headers=env.admin)
    assert again.status_code == 409, again.text
    roster = await ok(await env.http.get(url, headers=env.admin))
    assert [s["member_id"] for s in roster["items"]] == [str(member_id)]
