"""The faults (issue 8, "Faults"): each is set up, acts while the year is played, and checks
afterwards that it really happened. Whether the effects came out identical is the tests' job."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from cobuild_kit.db import connect
from cobuild_scenario.actors import Tokens
from cobuild_scenario.driver import Played
from cobuild_stack.broker import TansuBroker
from cobuild_stack.ops.dlq import read_dead_letters
from cobuild_stack.ports import free_port, wait_for_port
from cobuild_stack.topics import EVENT_TOPICS, dlq_topic
from faults_support import SERVICES, Fault, FaultStack, LiveRun, groups, say, wait_until

EARLY, MID, LATE = date(2026, 3, 1), date(2026, 6, 1), date(2026, 9, 1)


# --- 1. a crash at each point, by the kit's hook ------------------------------------------


class CrashAt(Fault):
    """COBUILD_CRASH_AT in one service: SIGKILL at the point, once mid-year, or also at the
    first hit before that (`times=2`). The hook fires while its once-file is absent: removing
    the file arms it."""

    def __init__(
        self, point: str, service: str, times: int = 2, again_at: date | None = MID
    ) -> None:
        self.point, self.service, self.times, self.again_at = point, service, times, again_at
        self.name = f"crash {point} ({service})"
        later = "mid-year" if again_at else "at the next hit"
        when = f"at the first hit, then again {later}" if times == 2 else later
        self.tried = f"SIGKILL of {service} at {point} {when}"
        self.marker: Path | None = None

    async def configure(self, stack: FaultStack, root: Path) -> None:
        self.marker = root / "crash-once"
        if self.times < 2:
            self.marker.write_text("disarmed")
        stack.service_env[self.service] = {
            "COBUILD_CRASH_AT": self.point,
            "COBUILD_CRASH_ONCE_FILE": str(self.marker),
        }

    async def during(self, run: LiveRun) -> None:
        assert self.marker is not None
        marker = self.marker

        async def crashed() -> bool:
            return marker.exists()

        if self.times == 2:
            await wait_until(crashed, 300, f"{self.point} never reached in {self.service}")
            run.counts["crashes"] += 1
        if self.again_at is not None:
            await run.clock_reaches(self.again_at)
        marker.unlink()  # arm
        await wait_until(crashed, 300, f"{self.point} not reached again in {self.service}")
        run.counts["crashes"] += 1

    async def after(self, run: LiveRun, played: Played) -> None:
        restarts = run.stack.services[self.service].restarts
        assert restarts >= self.times, f"{self.service} restarted {restarts} time(s)"


# --- 2. kill -9 of a random service at random moments ---------------------------------------


class KillRandom(Fault):
    def __init__(self, kills: int = 5) -> None:
        self.kills = kills
        self.name = "kill -9 random service"
        self.tried = f"SIGKILL of a random service at a random moment, {kills} times (seeded)"

    async def during(self, run: LiveRun) -> None:
        await run.clock_reaches(date(2026, 1, 15))
        for _ in range(self.kills):
            await asyncio.sleep(run.rng.uniform(2.0, 12.0))
            name = run.rng.choice(SERVICES)
            service = run.stack.services[name]
            await _until_ready(service.url)  # one kill at a time
            assert service.pid is not None
            os.kill(service.pid, signal.SIGKILL)
            run.counts["kills"] += 1
            run.notes.append(f"killed {name}")
            say(f"kill -9 {name}")


async def _until_ready(url: str) -> None:
    async def ready() -> bool:
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:
                return (await client.get(f"{url}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    await wait_until(ready, 180, f"{url} did not come back")


# --- 3a. the broker restarted empty, then `cobuild replay` ----------------------------------


class BrokerLostReplay(Fault):
    name = "broker restarted empty + replay"
    tried = (
        "kill -9 of the memory-only broker mid-year; broker started empty, topics recreated; "
        "`cobuild replay --service all` over the whole run (marks the outboxes, rewinds)"
    )

    async def during(self, run: LiveRun) -> None:
        await run.clock_reaches(MID)
        broker = run.stack.broker
        await broker.kill()
        say("broker killed (memory storage: everything on it is gone)")
        await asyncio.sleep(2.0)
        await broker.start()
        await broker.create_topics(run.stack.config.topics, run.stack.config.partitions)
        say("broker back, empty, topics recreated")
        # As an operator would: mark every kept event since the run began, then rewind.
        since = run.started_at.astimezone(UTC).replace(microsecond=0).isoformat()
        out = await run.run_cli("replay", "--since", since, "--service", "all", timeout_s=300)
        run.notes.append(" ".join(out.split()[-8:]))
        found = re.search(r"(\d+) event\(s\) will be republished", out)
        assert found, out
        marked = run.counts["events replayed"] = int(found.group(1))
        rewound = sum(int(n) for n in re.findall(r"(\d+) partition\(s\) rewound", out))
        run.counts["partitions rewound"] = rewound
        say(f"{marked} outbox rows marked for replay, {rewound} partitions rewound")


# --- 3b. the broker restarted with its data kept (s3:// on moto) ----------------------------


class BrokerKeptS3(Fault):
    name = "broker restarted, data kept (s3)"
    tried = (
        "Tansu on s3:// storage (moto_server on 127.0.0.1); kill -9 of the broker mid-year, "
        "restarted on the same port after 3 s"
    )

    def __init__(self) -> None:
        self.moto: asyncio.subprocess.Process | None = None

    async def configure(self, stack: FaultStack, root: Path) -> None:
        import boto3

        port = free_port()
        moto_server = Path(sys.executable).parent / "moto_server"
        with (root / "moto.log").open("ab") as log:
            self.moto = await asyncio.create_subprocess_exec(
                str(moto_server), "-H", "127.0.0.1", "-p", str(port),
                stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        if not await wait_for_port(port, 30):
            raise RuntimeError("moto_server did not open its port")
        endpoint = f"http://127.0.0.1:{port}"
        env = {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT": endpoint,
            "AWS_ALLOW_HTTP": "true",
        }
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
        ).create_bucket(Bucket="tansu")
        stack.broker = TansuBroker(
            free_port(),
            storage="s3://tansu/",
            log_path=stack.var_dir / "log" / "broker.log",
            env=env,
        )

    async def during(self, run: LiveRun) -> None:
        await run.clock_reaches(MID)
        await run.stack.broker.kill()
        say("s3 broker killed")
        await asyncio.sleep(3)
        await run.stack.broker.start()
        say("s3 broker back with its topics and offsets")
        run.counts["broker restarts"] += 1

    async def after(self, run: LiveRun, played: Played) -> None:
        # What the broker kept: the topics' offsets did not start again from zero.
        consumer = AIOKafkaConsumer(bootstrap_servers=run.stack.broker.bootstrap)
        await consumer.start()
        try:
            tps = [TopicPartition("agreements.events.v1", p) for p in range(2)]
            starts = await consumer.beginning_offsets(tps)
            ends = await consumer.end_offsets(tps)
        finally:
            await consumer.stop()
        kept = sum(ends[tp] - starts[tp] for tp in tps)
        run.counts["agreements events kept"] = kept
        assert kept > 0

    async def cleanup(self) -> None:
        if self.moto is not None and self.moto.returncode is None:
            self.moto.terminate()
            try:
                await asyncio.wait_for(self.moto.wait(), 10)
            except TimeoutError:
                self.moto.kill()
                await self.moto.wait()


# --- 4. the broker paused --------------------------------------------------------------------


class BrokerPaused(Fault):
    name = "broker paused (SIGSTOP)"
    tried = "SIGSTOP of the broker mid-year for 16 s (session timeout 10 s), then SIGCONT"

    async def during(self, run: LiveRun) -> None:
        await run.clock_reaches(MID)
        run.stack.broker.pause()
        say("broker paused")
        await asyncio.sleep(16)
        run.stack.broker.resume()
        say("broker resumed")
        run.counts["paused seconds"] = 16


# --- 5. PostgreSQL restarted ------------------------------------------------------------------


class PostgresRestarted(Fault):
    name = "PostgreSQL killed and restarted"
    tried = "SIGKILL of the postmaster and its backends mid-year; started again after 2 s"

    async def during(self, run: LiveRun) -> None:
        await run.clock_reaches(MID)
        pg = run.stack.postgres
        pg._requested_port = pg.port  # the services hold DSNs with this port
        await pg.kill()
        say("PostgreSQL killed")
        await asyncio.sleep(2)
        await pg.start()
        say("PostgreSQL back")
        run.counts["postgres restarts"] += 1


# --- 6. redelivery into a service with its inbox intact -------------------------------------


class Redelivery(Fault):
    name = "redelivery from offset 0"
    tried = (
        "after the year: every consumer group's offsets reset to 0 (services stopped, then "
        "started again), so every event is delivered a second time into the intact inboxes"
    )

    async def after(self, run: LiveRun, played: Played) -> None:
        await run.quiesce()
        await run.unsupervise()
        before = await _duplicates(run)
        bootstrap = run.stack.broker.bootstrap
        for name, service in run.stack.services.items():
            own = {g: topics for g, (svc, topics) in groups().items() if svc == name}
            if not own:
                continue
            await service.stop(10)
            for group, topics in own.items():
                run.counts["offsets reset"] += await _reset_offsets(bootstrap, group, list(topics))
            await service.spawn()
            await service.wait_ready(120)
        await run.quiesce()
        redelivered = await _duplicates(run) - before
        run.counts["redelivered and absorbed"] = redelivered
        assert redelivered > 0, "nothing was redelivered"


async def _reset_offsets(bootstrap: str, group: str, topics: list[str]) -> int:
    """Join the (idle) group as a member, then commit offset 0 on every partition: Tansu
    refuses an offset commit from outside the group's generation."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    try:
        for _ in range(120):
            if consumer.assignment():
                break
            await consumer.getmany(timeout_ms=500)
        tps = consumer.assignment()
        assert tps, f"could not join {group}"
        await consumer.commit({tp: 0 for tp in tps})
        return len(tps)
    finally:
        await consumer.stop()


async def _duplicates(run: LiveRun) -> int:
    """Redeliveries the inboxes absorbed, from every service's /metrics."""
    total = 0
    token = Tokens(run.info["keys"]).token("operator", str(uuid.uuid4()))
    async with httpx.AsyncClient(timeout=10, headers={"authorization": f"Bearer {token}"}) as client:
        for service in run.stack.services.values():
            text = (await client.get(f"{service.url}/metrics")).text
            for line in text.splitlines():
                if line.startswith("cobuild_events_duplicate_total{"):
                    total += int(float(line.rsplit(" ", 1)[1]))
    return total


# --- 7. poison and unknown events on every topic; a handler failure re-driven after a fix ----

# A known event type of each topic, sent with an empty payload and no event-type header, so
# every group reading the topic decodes it (and refuses the payload), handler or not.
POISON_TYPES = {
    "agreements.events.v1": "agreement.signed",
    "commitments.events.v1": "commitment.fulfilled",
    "points.events.v1": "points.awarded",
    "evaluation.events.v1": "member.scored",
    "access.events.v1": "grant.revoked",  # the kit's `<service>.access` groups
    "escalations.events.v1": "whistle.raised",
}
BREAK_SCORES = "ALTER TABLE member_score ADD CONSTRAINT fault_injected CHECK (score < 0) NOT VALID"
FIX_SCORES = "ALTER TABLE member_score DROP CONSTRAINT fault_injected"


class PoisonAndRedrive(Fault):
    name = "poison + unknown events, DLQ re-drive"
    tried = (
        "on every topic mid-year: bytes that are not JSON, an unknown event type and a known "
        "type with a bad payload; and points' member_score made to refuse inserts, so every "
        "member.scored fails its retries; then the cause removed and `cobuild dlq redrive --all`"
    )

    async def before(self, run: LiveRun) -> None:
        await _execute(run.info["databases"]["points"], BREAK_SCORES)

    async def during(self, run: LiveRun) -> None:
        await run.clock_reaches(MID)
        producer = AIOKafkaProducer(bootstrap_servers=run.stack.broker.bootstrap)
        await producer.start()
        try:
            for topic in EVENT_TOPICS:
                for value in _poison(topic):
                    await producer.send_and_wait(topic, value, key=b"poison")
                    run.counts["poison injected"] += 1
        finally:
            await producer.stop()
        say(f"{run.counts['poison injected']} poison messages injected")

    async def after(self, run: LiveRun, played: Played) -> None:
        await run.quiesce()
        bootstrap = run.stack.broker.bootstrap
        topics = [dlq_topic(t) for t in EVENT_TOPICS]
        letters = await read_dead_letters(bootstrap, topics)
        poison = [d for d in letters if d.key == b"poison"]
        scored = [d for d in letters if d.event_type == "member.scored" and d.key != b"poison"]
        pairs = sum(len(topics_) for _, topics_ in groups().values())
        run.counts["DLQ poison entries"] = len(poison)
        run.counts["DLQ handler failures"] = len(scored)
        # Each member is scored twice: published for 公示, then final.
        members = 2 * len(played.plan.members)
        assert len(poison) == 3 * pairs, f"{len(poison)} poison entries, expected {3 * pairs}"
        assert {d.dlq_topic for d in poison} == set(topics)
        assert all(d.header("dlq.error") for d in letters)
        assert len(scored) == members, f"{len(scored)} member.scored dead-lettered, not {members}"
        listing = await run.run_cli("dlq", "list", "--limit", "1000")
        assert f"Dead letters ({len(letters)})" in listing, listing[:500]
        for needle in ("contract", "handler: CheckViolationError", "unknown"):
            assert needle.lower() in listing.lower(), f"{needle!r} not in `cobuild dlq list`"
        # The fix, then the re-drive: every member.scored applies once.
        await _execute(run.info["databases"]["points"], FIX_SCORES)
        out = await run.run_cli("dlq", "redrive", "--all")
        run.notes.append(" ".join(out.split()))
        await run.quiesce()
        again = await read_dead_letters(bootstrap, topics)
        run.counts["DLQ after re-drive"] = len(again)
        # The poison is refused again (and lands in the DLQ again); nothing else does.
        assert len(again) == len(letters) + len(poison)


def _poison(topic: str) -> list[bytes]:
    now = datetime.now(UTC).isoformat()

    def envelope(event_type: str) -> bytes:
        return json.dumps(
            {
                "event_id": str(uuid.uuid4()),
                "event_type": event_type,
                "schema_version": 1,
                "occurred_at": now,
                "producer": "faults",
                "key": "poison",
                "payload": {},
            }
        ).encode()

    return [b"\x00{not json", envelope("mystery.unknown"), envelope(POISON_TYPES[topic])]


async def _execute(dsn: str, sql: str) -> None:
    conn = await connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


# --- 9. what can never be sent whole: an oversized outbox row, an oversized poison message ---

OVERSIZED_BYTES = 1_200_000  # over the producer's 1 MiB max_request_size (cobuild_kit.kafka)


class Oversized(Fault):
    name = "oversized event and oversized poison, every topic"
    tried = (
        "mid-year: in every service's outbox a row of 1.2 MB under a key of its own (as one "
        "written before the size bound, or by a bulk producer, could be), and on every topic a "
        "1.2 MB message that is not JSON; the rows must park and the rest of the year flow, the "
        "messages must reach each consuming group's DLQ as truncated copies"
    )

    async def during(self, run: LiveRun) -> None:
        await run.clock_reaches(MID)
        for service in SERVICES:
            await _stage_oversized_row(run.info["databases"][service], f"{service}.events.v1")
            run.counts["oversized rows staged"] += 1
        # A producer of our own, allowed larger requests than the services' relays are.
        producer = AIOKafkaProducer(
            bootstrap_servers=run.stack.broker.bootstrap, max_request_size=4 * 1024 * 1024
        )
        await producer.start()
        try:
            for topic in EVENT_TOPICS:
                await producer.send_and_wait(topic, b"[" * OVERSIZED_BYTES, key=b"oversized")
                run.counts["oversized poison injected"] += 1
        finally:
            await producer.stop()
        say("oversized rows staged and oversized poison injected")

    async def after(self, run: LiveRun, played: Played) -> None:
        await run.quiesce()
        for service in SERVICES:
            conn = await connect(run.info["databases"][service])
            try:
                parked = await conn.fetchval(
                    "SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL"
                )
            finally:
                await conn.close()
            assert parked == 1, f"{service}: {parked} parked rows, expected 1"
            run.counts["parked rows"] += parked
        topics = [dlq_topic(t) for t in EVENT_TOPICS]
        letters = await read_dead_letters(run.stack.broker.bootstrap, topics)
        oversized = [d for d in letters if d.key == b"oversized"]
        pairs = sum(len(topics_) for _, topics_ in groups().values())
        run.counts["DLQ truncated copies"] = len(oversized)
        assert len(oversized) == pairs, f"{len(oversized)} truncated copies, expected {pairs}"
        assert all(d.header("dlq.truncated") == "true" for d in oversized)
        assert all(d.header("dlq.original_size") == str(OVERSIZED_BYTES) for d in oversized)


async def _stage_oversized_row(dsn: str, topic: str) -> None:
    key = str(uuid.uuid4())
    envelope = {
        "event_id": str(uuid.uuid4()),
        "event_type": "oversized.staged",
        "schema_version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": "faults",
        "correlation_id": key,
        "key": key,
        "payload": {"filler": "x" * OVERSIZED_BYTES},
    }
    conn = await connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO outbox (event_id, topic, key, event_type, envelope) "
            "VALUES ($1, $2, $3, $4, $5::text::jsonb)",
            uuid.UUID(envelope["event_id"]),
            topic,
            key,
            envelope["event_type"],
            json.dumps(envelope),
        )
    finally:
        await conn.close()
