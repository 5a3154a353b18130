"""SMS, WeCom, DingTalk and WeChat subscription messages through apprise, to a stand-in gateway
on 127.0.0.1 that keeps what apprise posts (no internet): each channel is off until its URL is
set; SMS is capped per number per business day in the database, so two senders working at
once cannot both pass the cap; a WeChat message needs one of the person's consents, and
without one it is not attempted and its delivery says so; a failed send gives its consent
back. Real services' apprise URLs (WeCom applications, DingTalk robots) take a person's id."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from cobuild_contracts import Event
from cobuild_kit.clock import FixedClock
from cobuild_kit.testing import TestIssuer, eventually
from cobuild_notifications.adapters.channels import AppriseSender, Outgoing, Undeliverable
from cobuild_notifications.app import senders
from cobuild_notifications.usecases import sending
from cobuild_stack.testing import PgServer
from gateway_support import Gateway
from notifications_support import Served, deliveries, local, publish, sample, served, settings


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    g = Gateway()
    g.start()
    try:
        yield g
    finally:
        g.stop()


def _work(unit: UUID, n: int) -> list[Event]:
    """n commitments of the unit, each with a reminder: n notifications to its admins."""
    events: list[Event] = []
    for i in range(n):
        c = uuid4()
        events.append(sample("commitment.opened", commitment_id=c, agreement_id=uuid4(),
                             community_id=uuid4(), unit_id=unit, obligor_party_id=unit,
                             beneficiary_party_id=uuid4(), title=f"清理楼道{i}",
                             deadline="2026-06-30"))  # fmt: skip
        events.append(sample("commitment.reminder_due", commitment_id=c, obligor_party_id=unit,
                             deadline="2026-06-30", days_left=3))  # fmt: skip
    return events


async def _admin(s: Served, bootstrap: str, who: str, unit: UUID, **prefs: Any) -> None:
    r = await s.client.put("/preferences", json=prefs, headers=s.as_(who))
    assert r.status_code == 200, r.text
    grant = sample("grant.added", grant_id=uuid4(), subject=who, role="unit_admin", party_id=unit)
    await publish(bootstrap, s.clock.now(), grant)
    await s.settle()


async def _rows(s: Served) -> list[dict[str, Any]]:
    async with s.rt.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT channel, address, status, due_at, last_error FROM deliveries ORDER BY channel"
        )
    return [dict(r) for r in rows]


async def test_sms_wecom_and_dingtalk_go_through_apprise_when_configured(
    pg_server: PgServer, kafka_bootstrap: str, issuer: TestIssuer, gateway: Gateway
) -> None:
    unit = uuid4()
    tag = uuid4().hex[:8]
    who, plain = f"chan-{tag}", f"plain-{tag}"
    at = local(2026, 6, 10, 10)
    dsn = await pg_server.create_database("notifications_channels")
    conf = settings(dsn, kafka_bootstrap, None, sms_url=gateway.url("/sms"),
                    wecom_url=gateway.url("/wecom"), dingtalk_url=gateway.url("/dingtalk"))  # fmt: skip
    async with served(conf, issuer, FixedClock(at)) as s:
        # Every address: WeChat's is kept, but its channel has no URL here: nothing queued.
        await _admin(s, kafka_bootstrap, who, unit, phone="13800138000", wecom_id="zhangsan",
                     dingtalk_id="13900139000", wechat_openid="oWx-123", language="en")  # fmt: skip
        await _admin(s, kafka_bootstrap, plain, unit)  # no address: the inbox only
        await publish(kafka_bootstrap, at, *_work(unit, 1))
        await s.settle()

        async def three() -> bool:
            return len(gateway.posted) >= 3

        await eventually(three, timeout=30)
        [sms] = gateway.to("13800138000", "/sms")
        [wecom] = gateway.to("zhangsan", "/wecom")
        [ding] = gateway.to("13900139000", "/dingtalk")
        for posted in (sms, wecom, ding):
            assert posted.body["title"] == "“清理楼道0” is due in 3 days"
            assert "清理楼道0" in posted.body["message"] and "2026-06-30" in posted.body["message"]
        rows = await _rows(s)
        assert [(r["channel"], r["status"]) for r in rows] == [
            ("dingtalk", "sent"), ("sms", "sent"), ("wecom", "sent"),
        ]  # fmt: skip
        assert len(await s.inbox(plain)) == 1 and len(await s.inbox(who)) == 1


async def test_two_senders_at_once_cannot_both_pass_the_sms_cap(
    pg_server: PgServer, kafka_bootstrap: str, issuer: TestIssuer, gateway: Gateway
) -> None:
    unit = uuid4()
    who = f"cap-{uuid4().hex[:8]}"
    phone = "13700137000"
    at = local(2026, 6, 10, 10)
    clock = FixedClock(at)
    dsn = await pg_server.create_database("notifications_sms_cap")
    # The service's own sender goes once at start and then sleeps: the test runs three.
    conf = settings(dsn, kafka_bootstrap, None, sms_url=gateway.url("/sms"),
                    sms_per_number_per_day=2, sender_interval_s=3600.0)  # fmt: skip
    gateway.delay_s = 0.3  # a slow gateway: the three senders' sends overlap
    async with served(conf, issuer, clock) as s:
        await _admin(s, kafka_bootstrap, who, unit, phone=phone)
        await publish(kafka_bootstrap, at, *_work(unit, 5))
        await s.settle()
        assert len(await _rows(s)) == 5
        out = senders(s.rt.settings)

        async def three_senders() -> None:
            await asyncio.gather(
                *(sending.send_due(s.rt.pool, clock, s.rt.settings, out) for _ in range(3))
            )

        await three_senders()
        assert len(gateway.to(phone)) == 2, "two senders passed the cap together"
        rows = await _rows(s)
        tomorrow = local(2026, 6, 11, 0, 0)
        assert sorted(r["status"] for r in rows) == ["pending"] * 3 + ["sent"] * 2
        assert {r["due_at"] for r in rows if r["status"] == "pending"} == {tomorrow}
        async with s.rt.pool.acquire() as conn:
            counted = await conn.fetchval("SELECT sent FROM channel_counts WHERE address = $1",
                                          phone)  # fmt: skip
        assert counted == 2

        clock.set(tomorrow + timedelta(minutes=1))  # the next business day: two more go
        await three_senders()
        assert len(gateway.to(phone)) == 4
        assert (await deliveries(s.rt)) == {"sent": 4, "pending": 1}


async def test_wechat_messages_need_a_consent_each(
    pg_server: PgServer, kafka_bootstrap: str, issuer: TestIssuer, gateway: Gateway
) -> None:
    unit = uuid4()
    who = f"wx-{uuid4().hex[:8]}"
    openid = "oWx-consent-1"
    at = local(2026, 6, 10, 10)
    dsn = await pg_server.create_database("notifications_wechat")
    conf = settings(dsn, kafka_bootstrap, None, wechat_url=gateway.url("/wechat"),
                    send_max_attempts=2)  # fmt: skip
    async with served(conf, issuer, FixedClock(at)) as s:
        await _admin(s, kafka_bootstrap, who, unit, wechat_openid=openid)

        async def balance() -> int:
            r = await s.client.get("/wechat/consents", headers=s.as_(who))
            assert r.status_code == 200, r.text
            return int(r.json()["balance"])

        async def statuses(*wanted: str) -> bool:
            return sorted(r["status"] for r in await _rows(s)) == sorted(wanted)

        # No consent yet: not attempted, and the delivery says why.
        await publish(kafka_bootstrap, at, *_work(unit, 1))
        await eventually(lambda: statuses("skipped"), timeout=20)
        assert gateway.to(openid) == []
        [row] = await _rows(s)
        assert "consent" in row["last_error"]

        # Two consents: two messages go, the balance is spent; the next one is skipped.
        for expected in (1, 2):
            r = await s.client.post("/wechat/consents", headers=s.as_(who))
            assert r.status_code == 200 and r.json() == {"balance": expected}
        await publish(kafka_bootstrap, at, *_work(unit, 2))
        await eventually(lambda: statuses("skipped", "sent", "sent"), timeout=20)
        await publish(kafka_bootstrap, at, *_work(unit, 1))
        await eventually(lambda: statuses("skipped", "sent", "sent", "skipped"), timeout=20)
        assert len(gateway.to(openid)) == 2 and await balance() == 0

        # A gateway that refuses: retried, then failed, and the consent is the person's again.
        gateway.status = 500
        await s.client.post("/wechat/consents", headers=s.as_(who))
        await publish(kafka_bootstrap, at, *_work(unit, 1))
        await eventually(lambda: statuses("skipped", "sent", "sent", "skipped", "failed"),
                         timeout=30)  # fmt: skip
        assert await balance() == 1 and len(gateway.to(openid)) == 2


def test_real_services_urls_take_a_persons_id() -> None:
    """The URLs an operator sets for WeCom applications and DingTalk robots take the person's
    id in place of {address} (apprise parses them: nothing is sent here); an id apprise cannot
    take fails at once, a URL without {address} is refused at start."""
    import apprise

    wecom = AppriseSender("wecom", "wechat://wwcorp:appsecret@1000002/@{address}")
    ding = AppriseSender("dingtalk", "dingtalk://abcdef0123/{address}/")
    assert apprise.Apprise().add(wecom.url_for("zhangsan"))
    assert apprise.Apprise().add(ding.url_for("13900139000"))
    assert wecom.url_for("li si") == "wechat://wwcorp:appsecret@1000002/@li%20si"
    out = Outgoing("x", "subject", "text", "", "<id@x>", "")
    bad = AppriseSender("sms", "json://{address}:notaport/sms")
    with pytest.raises(Undeliverable):
        asyncio.run(bad.send(out))
    with pytest.raises(ValueError):
        AppriseSender("sms", "json://127.0.0.1/sms")
