"""The year-end assessment: a district's members and their points totals loaded with COPY,
then preview and publish timed over HTTP, the `*.scored` events relayed to the broker, and
the points service applying `member.scored`."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg

from bench import feed
from bench.probe import Counter, rss_mb, wait_until
from bench.report import Row
from bench.suite import Suite

YEAR = 2026


def target_s(members: int) -> int | None:
    """The time the preview and the publish each have, at the sizes that have a target."""
    return 10 if members == 124_000 else 60 if members == 750_000 else None


async def measure(s: Suite, members: int) -> None:
    district = feed.District(s.run_id, f"assess{members}")
    await s.register_parties(district)
    await _load_members(s, district, members)
    url = s.url("evaluation")
    tok = s.token("district_admin", district.district_id)
    body = {"district_id": str(district.district_id), "policy_version": "2026-v1"}
    headers = {"Authorization": f"Bearer {tok}"}
    pid = s.stack.services["evaluation"].pid
    before = rss_mb(pid)

    async def timed(path: str, phase: str) -> tuple[float, dict[str, Any]]:
        s.rss.mark(phase)
        deadline = time.monotonic() + 300
        while True:
            t0 = time.perf_counter()
            r = await s.http.post(f"{url}{path}", json=body, headers=headers, timeout=900)
            took = time.perf_counter() - t0
            # A publish is refused while the inputs lag (ARCHITECTURE.md, "Business time"): wait, as an admin would.
            if r.status_code == 409 and "not caught up" in r.text and time.monotonic() < deadline:
                await asyncio.sleep(2)
                continue
            if r.status_code not in (200, 201):
                raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")
            return took, r.json()

    preview_s, preview = await timed(f"/assessments/{YEAR}/preview", f"preview {members}")
    preview_peak = s.rss.peak(f"preview {members}", "evaluation")
    scored = preview.get("member_count", members) + preview.get("unit_count", 0)
    ev = Counter(s.dsn("evaluation"))
    backlog0 = await ev.value("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    profile = asyncio.create_task(s.profile(f"publish-{members}", min(20, 5 + members // 20_000)))
    publish_s, published = await timed(f"/assessments/{YEAR}/publish", f"publish {members}")
    publish_peak = s.rss.peak(f"publish {members}", "evaluation")
    t_pub = time.perf_counter()
    await wait_until(
        lambda: _zero(ev, "SELECT count(*) FROM outbox WHERE published_at IS NULL"), 600, 0.1
    )
    relay_s = time.perf_counter() - t_pub
    events = published["member_count"] + published["unit_count"] + 1
    await profile
    await ev.close()
    # The points service applies member.scored (the honour roll): the consuming side.
    pt = Counter(s.dsn("points"))
    aid = uuid.UUID(published["assessment_id"])
    applied_sql = "SELECT count(*) FROM member_score WHERE assessment_id = $1"
    await wait_until(
        lambda: _atleast(pt, applied_sql, published["member_count"], aid),
        60 if not s.large else 900,
        0.5,
    )
    applied_s = time.perf_counter() - t_pub
    applied = await pt.value(applied_sql, aid)
    await pt.close()
    target = target_s(members)
    ref_s = scored / s.refs["pg_copy"]
    add = s.report.add
    add(
        Row(
            f"assessment {members:,} members: preview time",
            preview_s,
            "s",
            ref_s,
            "s to COPY as many rows",
            f"≤ {target} s" if target else "",
            preview_s <= target if target else None,
            "POST preview",
        )
    )
    add(
        Row(
            f"assessment {members:,} members: publish time",
            publish_s,
            "s",
            ref_s,
            "s to COPY as many rows",
            f"≤ {target} s" if target else "",
            publish_s <= target if target else None,
            "POST publish",
        )
    )
    add(
        Row(
            f"assessment {members:,} members: peak RSS of evaluation (publish)",
            max(publish_peak, preview_peak),
            "MB",
            before,
            "MB before",
            "≤ 300 MB",
            max(publish_peak, preview_peak) <= 300,
            "",
        )
    )
    relay_rate = events / relay_s if relay_s > 0 else float("nan")
    add(
        Row(
            f"assessment {members:,} members: *.scored published to the broker",
            relay_rate,
            "events/s",
            s.refs["kafka_produce"],
            "raw produce msgs/s",
            "",
            None,
            "outbox relay after publish",
        )
    )
    s.section("Year-end assessment").extend(
        [
            f"### {members:,} members",
            f"District with 4 streets, 21 communities and 343 units registered by party.registered "
            f"events; members and their {YEAR} points totals loaded into the evaluation database "
            f"with COPY ({members:,} rows each into `members` and `member_points`), as the "
            "points.* consumers would have left them.",
            f"- preview: {preview_s:.2f} s, evaluation RSS {before:.0f} → peak {preview_peak:.0f} MB",
            f"- publish: {publish_s:.2f} s (results stored, {events:,} events into the outbox), "
            f"RSS peak {publish_peak:.0f} MB; outbox backlog before: {backlog0}",
            f"- relay: {events:,} *.scored events on the broker {relay_s:.1f} s after the publish "
            f"answered ({relay_rate:,.0f} events/s)",
            f"- points applied {applied:,} member.scored {applied_s:.1f} s after the publish "
            f"answered ({applied / applied_s:,.0f} events/s)",
            "",
        ]
    )


async def _load_members(s: Suite, district: feed.District, members: int) -> None:
    conn = await asyncpg.connect(s.dsn("evaluation"))
    rng = random.Random(members)
    rows, points = [], []
    for i in range(members):
        mid = feed.uid(s.run_id, f"{district.tag}/member", i)
        unit, community = district.unit(i), district.community(i)
        rows.append((mid, unit, community, date(YEAR, 1, 10), None))
        points.append((mid, YEAR, rng.randrange(0, 30000) / 100, community, unit))
    t0 = time.perf_counter()
    await conn.copy_records_to_table(
        "members",
        records=rows,
        columns=["member_id", "unit_id", "community_id", "reported_on", "left_on"],
    )
    await conn.copy_records_to_table(
        "member_points",
        records=[(a, b, Decimal(str(c)), d, e) for a, b, c, d, e in points],
        columns=["member_id", "year", "total", "community_id", "unit_id"],
    )
    await conn.execute("ANALYZE members; ANALYZE member_points")
    await conn.close()
    s.report.note(f"loaded {members:,} members with COPY in {time.perf_counter() - t0:.1f}s")


async def _zero(counter: Counter, sql: str) -> bool:
    return await counter.value(sql) == 0


async def _atleast(counter: Counter, sql: str, want: int, *args: Any) -> bool:
    return await counter.value(sql, *args) >= want
