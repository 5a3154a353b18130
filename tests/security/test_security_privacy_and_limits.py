"""Personal data stays in points (bytes of every topic, every log line and every export are
scanned), and the token-less endpoints and resident codes are rate limited."""

from __future__ import annotations

import io
import json
import math
import re
import zipfile

from aiokafka import AIOKafkaConsumer, TopicPartition
from cobuild_contracts import Role, topics
from cobuild_kit.rate_limits import RateLimits
from security_support import M1_NAME, M2_NAME, YEAR, Suite, World

D, C = Role.DISTRICT_ADMIN, Role.COMMUNITY_ADMIN


async def all_topic_bytes(bootstrap: str) -> dict[str, bytes]:
    """Every message (key, headers, value) of every event topic and its DLQ, from offset 0 to
    the current end, read by direct assignment (no group)."""
    names = [t for topic in topics.ALL_TOPICS for t in (topic, topics.dlq(topic))]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, fetch_max_wait_ms=20)  # fmt: skip
    await consumer.start()
    out: dict[str, bytes] = {}
    try:
        cluster = await consumer._client.fetch_all_metadata()
        for name in names:
            parts = cluster.partitions_for_topic(name) or set()
            tps = [TopicPartition(name, p) for p in sorted(parts)]
            if not tps:
                continue
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            chunks: list[bytes] = []
            while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                for records in (await consumer.getmany(*tps, timeout_ms=200)).values():
                    for r in records:
                        chunks += [r.key or b"", r.value or b""]
                        chunks += [k.encode() + v for k, v in r.headers]
            out[name] = b"\n".join(chunks)
    finally:
        await consumer.stop()
    return out


def forms(text: str) -> list[bytes]:
    """The ways a string may sit in bytes: UTF-8, JSON-escaped, UTF-16 (XLSX is zipped XML)."""
    return [text.encode(), json.dumps(text).strip('"').encode(), text.encode("utf-16-le")]


def xlsx_text(body: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        return b"".join(z.read(n) for n in z.namelist())


async def test_no_member_name_or_phone_leaves_the_points_service(
    suite: Suite, world: World
) -> None:
    secrets_ = [M1_NAME, M2_NAME, *world.phones, M1_NAME[1:], M2_NAME.split()[1]]
    # the flow: K1 fulfilled with M, a rating and a published assessment (member.scored out)
    await suite.ok("evaluation", "POST", "/member-ratings", C, world.C,
                   json={"member_id": str(world.M), "year": YEAR, "score": "96"})  # fmt: skip
    await suite.settled()
    r = await suite.call("evaluation", "POST", f"/assessments/{YEAR}/publish", D, world.D,
                         json={"district_id": str(world.D)})  # fmt: skip
    assert r.status_code in (201, 409), r.text
    await suite.settled()
    # the points service itself shows M (so the strings are really in the system)
    me = await suite.ok("points", "GET", f"/members/{world.M}", Role.MEMBER, world.M)
    assert me["name"] == M1_NAME

    scanned: dict[str, bytes] = await all_topic_bytes(suite.bootstrap)
    # the scan sees our flow: M's id is on the points topic, its registration in the logs
    assert str(world.M).encode() in scanned[topics.POINTS]
    scanned["logs"] = suite.logs.text().encode()
    assert b"member.registered" in scanned["logs"] and str(world.M).encode() in scanned["logs"]
    assert any(f in json.dumps(me, ensure_ascii=False).encode() for f in forms(M1_NAME))
    params = {"scope": "community", "id": str(world.C)}
    for fmt in ("csv", "xlsx"):
        for url, q in ((f"/exports/ledger.{fmt}", params),
                       (f"/exports/assessments/{YEAR}.{fmt}", {"district_id": str(world.D)})):  # fmt: skip
            got = await suite.call("evaluation", "GET", url, D, world.D, params=q)
            assert got.status_code == 200, (url, got.status_code, got.text[:200])
            scanned[url] = xlsx_text(got.content) if fmt == "xlsx" else got.content
    for who, role, pid in (("community", C, world.C), ("street", Role.STREET_ADMIN, world.S)):
        got = await suite.call("evaluation", "GET", "/ledger", role, pid, params=params)
        scanned[f"evaluation /ledger as {who}"] = got.content
    for path in (f"/public/communities/{world.C}", f"/public/streets/{world.S}"):
        scanned[f"evaluation {path}"] = (await suite.call("evaluation", "GET", path)).content
    for path in (
        f"/public/communities/{world.C}/needs",
        f"/public/communities/{world.C}/agreements",
    ):
        scanned[f"agreements {path}"] = (await suite.call("agreements", "GET", path)).content
    found = [
        f"{where}: {s!r}"
        for where, data in scanned.items()
        for s in secrets_
        for form in forms(s)
        if form in data
    ]
    assert not found, "personal data outside points:\n" + "\n".join(found)


async def test_public_endpoints_answer_429_over_the_limit(suite: Suite, world: World) -> None:
    probes = {
        "agreements": f"/public/communities/{world.C}/needs",
        "points": f"/public/communities/{world.C}/honour-roll?year={YEAR}",
        "evaluation": f"/public/communities/{world.C}",
    }
    for service, url in probes.items():
        rt = suite.rts[service]
        saved = rt.settings.public_rate_limit_per_minute
        rt.settings.public_rate_limit_per_minute = 20
        rt.rate_limits = RateLimits()
        try:
            codes = [(await suite.call(service, "GET", url)).status_code for _ in range(25)]
        finally:
            rt.settings.public_rate_limit_per_minute = saved
            rt.rate_limits = RateLimits()
        assert codes[:20] == [200] * 20, (service, codes)
        assert codes[20:] == [429] * 5, (service, codes)


async def test_resident_codes_are_unguessable_and_attempts_are_limited(
    suite: Suite, world: World
) -> None:
    issued = await suite.ok("evaluation", "POST", f"/commitments/{world.k1}/resident-codes", C,
                            world.C, json={"count": 5})  # fmt: skip
    codes = issued["codes"]
    assert len(set(codes)) == 5
    for code in codes:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", code), code
        assert len(code) * math.log2(64) >= 64, f"{code!r} carries under 64 bits"
    rt = suite.rts["evaluation"]
    rt.rate_limits = RateLimits()
    per_minute = rt.settings.resident_redeem_attempts_per_minute  # type: ignore[attr-defined]
    url = "/public/resident-evaluations"
    first = await suite.call("evaluation", "POST", url, json={"code": codes[0], "rating": 5})
    assert first.status_code == 201, first.text
    again = await suite.call("evaluation", "POST", url, json={"code": codes[0], "rating": 1})
    assert again.status_code in (404, 409, 410, 422), again.text  # a code works once
    guesses = [
        (await suite.call("evaluation", "POST", url,
                          json={"code": f"guess-{n:08d}-xxxxxxxx", "rating": 1})).status_code
        for n in range(per_minute)
    ]  # fmt: skip
    assert 429 in guesses, guesses
    assert all(c in (404, 409, 410, 422, 429) for c in guesses), guesses
    # once limited, even a right code waits: guessing gains nothing
    right = await suite.call("evaluation", "POST", url, json={"code": codes[1], "rating": 4})
    assert right.status_code == 429, right.text
    rt.rate_limits = RateLimits()
