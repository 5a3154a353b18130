"""Delivery over time and faults: a person who chose "daily" gets one digest with the day's
items and nothing in real time; quiet hours delay a message until they end; a sender stopped
mid-batch and started again sends each message once; a mail server that refuses is retried
with back-off and the delivery finally marked failed, not dropped."""

from __future__ import annotations

from uuid import UUID, uuid4

from cobuild_contracts import Event
from cobuild_kit.clock import FixedClock
from cobuild_kit.testing import TestIssuer, eventually
from cobuild_stack.ports import free_port
from cobuild_stack.testing import PgServer
from notifications_support import (
    MailServer,
    Served,
    deliveries,
    local,
    publish,
    sample,
    served,
    settings,
)


def _grant(subject: str, role: str, party: UUID) -> Event:
    return sample("grant.added", grant_id=uuid4(), subject=subject, role=role, party_id=party)


def _opened(commitment: UUID, unit: UUID, title: str) -> Event:
    return sample("commitment.opened", commitment_id=commitment, agreement_id=uuid4(),
                  community_id=uuid4(), unit_id=unit, obligor_party_id=unit,
                  beneficiary_party_id=uuid4(), title=title, deadline="2026-06-30")  # fmt: skip


def _reminder(commitment: UUID, unit: UUID, days: int) -> Event:
    return sample("commitment.reminder_due", commitment_id=commitment, obligor_party_id=unit,
                  deadline="2026-06-30", days_left=days)  # fmt: skip


async def _prefs(s: Served, who: str, **body: object) -> None:
    r = await s.client.put("/preferences", json={"email": f"{who}@example.org", **body},
                           headers=s.as_(who))  # fmt: skip
    assert r.status_code == 200, r.text


async def test_daily_digest_and_quiet_hours(
    pg_server: PgServer, kafka_bootstrap: str, issuer: TestIssuer, smtp: MailServer
) -> None:
    unit = uuid4()
    tag = uuid4().hex[:8]
    daily, night, plain = f"daily-{tag}", f"night-{tag}", f"plain-{tag}"
    c1, c2 = uuid4(), uuid4()
    evening = local(2026, 6, 10, 23, 0)  # inside 22:00-07:00
    clock = FixedClock(evening)
    dsn = await pg_server.create_database("notifications_time")
    async with served(settings(dsn, kafka_bootstrap, smtp.port), issuer, clock) as s:
        await _prefs(s, daily, frequency="daily")
        await _prefs(s, night, quiet_start="22:00", quiet_end="07:00")
        await _prefs(s, plain)
        r = await s.client.put("/preferences", json={"quiet_start": "22:00"}, headers=s.as_(plain))
        assert r.status_code == 422 and r.json()["field"] == "body.quiet_end"
        # Grants first: they and their holders' events are on different topics.
        await publish(
            kafka_bootstrap,
            evening,
            *(_grant(who, "unit_admin", unit) for who in (daily, night, plain)),
        )
        await s.settle()
        await publish(
            kafka_bootstrap, evening,
            _opened(c1, unit, "清理楼道"), _opened(c2, unit, "修缮凉亭"),
            _reminder(c1, unit, 3), _reminder(c2, unit, 5),
        )  # fmt: skip
        await s.settle()
        # The realtime person without quiet hours has both at once; the others nothing yet.
        await eventually(lambda: _count(smtp, plain, 2), timeout=20)
        assert len(await s.inbox(daily)) == 2 and len(await s.inbox(night)) == 2
        assert smtp.to(f"{daily}@example.org") == [] and smtp.to(f"{night}@example.org") == []

        clock.set(local(2026, 6, 11, 6, 59))  # still quiet, still before the digest
        await s.settle()
        await _idle(s)
        assert smtp.to(f"{night}@example.org") == [] and smtp.to(f"{daily}@example.org") == []

        clock.set(local(2026, 6, 11, 7, 0))  # the quiet hours end: both of night's go
        await eventually(lambda: _count(smtp, night, 2), timeout=20)
        assert smtp.to(f"{daily}@example.org") == []

        clock.set(local(2026, 6, 11, 8, 0))  # the daily digest: one message for both items
        await eventually(lambda: _count(smtp, daily, 1), timeout=20)
        await _idle(s)
        [digest] = smtp.to(f"{daily}@example.org")
        text = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "(2)" in str(digest["Subject"]) and "清理楼道" in text and "修缮凉亭" in text
        assert (await deliveries(s.rt)) == {"sent": 6}


async def test_a_sender_stopped_mid_batch_sends_each_message_once(
    pg_server: PgServer, kafka_bootstrap: str, issuer: TestIssuer, smtp: MailServer
) -> None:
    unit = uuid4()
    tag = uuid4().hex[:8]
    people = [f"p{i}-{tag}" for i in range(6)]
    commitments = [uuid4() for _ in range(5)]
    at = local(2026, 6, 10, 10)
    clock = FixedClock(at)
    dsn = await pg_server.create_database("notifications_crash")
    s1 = settings(dsn, kafka_bootstrap, smtp.port)
    smtp.delay_s = 0.05  # a slow mail server: the stop lands while messages are in hand
    async with served(s1, issuer, clock) as s:
        for who in people:
            await _prefs(s, who)
        await publish(kafka_bootstrap, at, *(_grant(who, "unit_admin", unit) for who in people))
        await s.settle()
        await publish(
            kafka_bootstrap, at,
            *(_opened(c, unit, f"任务{i}") for i, c in enumerate(commitments)),
            *(_reminder(c, unit, 3) for c in commitments),
        )  # fmt: skip
        total = len(people) * len(commitments)
        await eventually(lambda: _at_least(smtp, 5), timeout=30)
        # Stopped mid-batch (the runtime cancels its workers).
    stopped_at = len(smtp.messages)
    assert stopped_at < total, "the sender finished before it was stopped"
    async with served(s1, issuer, clock) as s:
        await eventually(lambda: _at_least(smtp, total), timeout=60)
        await s.settle()
        await _idle(s)
        assert (await deliveries(s.rt)) == {"sent": total}
    ids = smtp.ids()
    assert len(ids) == total and len(set(ids)) == total


async def test_a_refusing_mail_server_is_retried_then_marked_failed(
    pg_server: PgServer, kafka_bootstrap: str, issuer: TestIssuer, smtp: MailServer
) -> None:
    unit, c = uuid4(), uuid4()
    who = f"retry-{uuid4().hex[:8]}"
    at = local(2026, 6, 10, 10)
    dsn = await pg_server.create_database("notifications_retry")
    # No server listens on this port: every attempt fails.
    dead = settings(dsn, kafka_bootstrap, free_port(),
                    send_max_attempts=3)  # fmt: skip
    async with served(dead, issuer, FixedClock(at)) as s:
        await _prefs(s, who)
        await publish(kafka_bootstrap, at, _grant(who, "unit_admin", unit))
        await s.settle()
        await publish(kafka_bootstrap, at, _opened(c, unit, "x"), _reminder(c, unit, 1))
        await s.settle()

        async def failed() -> bool:
            return (await deliveries(s.rt)) == {"failed": 1}

        await eventually(failed, timeout=30)
        async with s.rt.pool.acquire() as conn:
            row = await conn.fetchrow("SELECT attempts, last_error FROM deliveries")
        assert row["attempts"] == 3 and row["last_error"]
        assert len(await s.inbox(who)) == 1  # the inbox has it all the same


async def _count(smtp: MailServer, who: str, n: int) -> bool:
    return len(smtp.to(f"{who}@example.org")) >= n


async def _at_least(smtp: MailServer, n: int) -> bool:
    return len(smtp.messages) >= n


async def _idle(s: Served) -> None:
    """A few sender rounds pass."""
    import asyncio

    await asyncio.sleep(5 * s.rt.settings.sender_interval_s + 0.3)
