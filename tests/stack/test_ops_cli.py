"""The operator commands against a real stack: agreements, points and evaluation on free ports."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition
from cobuild_stack.cli import app
from cobuild_stack.launcher import Stack, StackConfig
from cobuild_stack.ops.dlq import DeadLetter, read_dead_letters, release_inbox_claims
from cobuild_stack.testing import produce
from typer.testing import CliRunner

SERVICES = ("agreements", "points", "evaluation")
AGREEMENTS = "agreements.events.v1"
YEAR = datetime.now(UTC).year
SUBCOMMANDS = [
    ["replay"],
    ["dlq"],
    ["dlq", "list"],
    ["dlq", "redrive"],
    ["verify"],
    ["assess"],
    ["assess", "preview"],
    ["assess", "publish"],
    ["export"],
    ["export", "ledger"],
    ["export", "assessment"],
    ["import"],
    ["import", "parties"],
    ["import", "members"],
    ["import", "needs"],
    ["lag"],
    ["outbox"],
    ["outbox", "parked"],
    ["outbox", "resend"],
]


def cobuild(var_dir: Path, *args: str) -> tuple[int, str, str]:
    """In-process (fast): exit code, stdout, stderr."""
    runner = CliRunner(env={"COLUMNS": "250"})
    result = runner.invoke(app, [*args, "--var-dir", str(var_dir)])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def var_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="cobuild-ops-test-"))
    root.chmod(0o755)  # as root, PostgreSQL runs as nobody and must reach var/pg
    yield root / "var"
    shutil.rmtree(root, ignore_errors=True)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(var_dir: Path) -> AsyncIterator[Stack]:
    config = StackConfig.from_env(
        {},
        var_dir=var_dir,
        services=SERVICES,
        service_ports={name: 0 for name in SERVICES},
        partitions=2,
        test_mode=True,
    )
    running = Stack(config)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture(scope="module")
def district(stack: Stack, var_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A district, a street and a community, imported through the CLI."""
    district_id = str(uuid.uuid4())
    path = tmp_path_factory.mktemp("import") / "parties.csv"
    path.write_text(
        "kind,name,code,parent,party_id\n"
        f"district,Test District,D1,,{district_id}\n"
        "street,First Street,S1,D1,\n"
        "community,Garden Community,C1,S1,\n"
    )
    code, out, err = cobuild(var_dir, "import", "parties", str(path), "--district", district_id)
    assert code == 0, out + err
    assert "imported 3 part(ies)" in out
    return district_id


# -- no stack needed -------------------------------------------------------------------


@pytest.mark.parametrize("args", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_has_help(args: list[str]) -> None:
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_without_a_stack_the_error_is_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "250"}
    for args in (["dlq", "list"], ["replay", "--since", "2026-01-01"], ["verify"]):
        result = subprocess.run(
            [sys.executable, "-m", "cobuild_stack.cli", *args, "--var-dir", str(tmp_path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "no stack is running" in errors[0], result.stderr


# -- against the stack ------------------------------------------------------------------


def test_a_bad_parties_file_prints_the_row_report(
    stack: Stack, var_dir: Path, tmp_path: Path
) -> None:
    district_id = str(uuid.uuid4())
    path = tmp_path / "parties.csv"
    path.write_text(
        "kind,name,code,parent,party_id\n"
        f"district,Other District,OD,,{district_id}\n"
        "planet,Mars,MARS,OD,\n"
    )
    code, _, err = cobuild(var_dir, "import", "parties", str(path), "--district", district_id)
    assert code == 1
    assert "Traceback" not in err
    assert "rows rejected" in err and "kind" in err and "│ 3 " in err, err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        "error: parties.csv: 1 error(s) in the file; nothing was imported"
    ]


async def test_replay_marks_rows_and_the_relay_republishes_them(
    stack: Stack, var_dir: Path, district: str
) -> None:
    dsn = stack.databases["agreements"]
    conn = await asyncpg.connect(dsn)
    try:
        await _until(lambda: _unpublished(conn), 0)
        before = datetime.now(UTC)
        since = (before - timedelta(hours=1)).isoformat()
        kept = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL")
        assert kept >= 3

        code, out, err = await asyncio.to_thread(
            cobuild, var_dir, "replay", "--service", "agreements", "--since", since
        )
        assert code == 0, out + err
        assert f"{kept} event(s) will be republished" in out

        await _until(lambda: _unpublished(conn), 0)
        again = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at >= $1", before)
        assert again >= kept
    finally:
        await conn.close()
    # The district's registration is now on the topic twice, with the same event id.
    messages = await read_dead_letters(stack.broker.bootstrap, [AGREEMENTS])
    mine = [m for m in messages if m.key == district.encode()]
    assert len(mine) >= 2
    assert len({m.event_id for m in mine}) < len(mine)


async def test_a_poison_message_is_listed_and_redriven_with_its_original_bytes(
    stack: Stack, var_dir: Path
) -> None:
    bootstrap = stack.broker.bootstrap
    event_id = str(uuid.uuid4())
    key = f"poison-{event_id}".encode()
    value = json.dumps(
        {
            "event_id": event_id,
            "event_type": "party.teleported",
            "occurred_at": "2026-01-01T00:00:00Z",
            "producer": "test",
            "key": key.decode(),
            "payload": {},
        }
    ).encode()
    headers = {"event_id": event_id.encode(), "event_type": b"party.teleported", "x-test": b"1"}
    await produce(bootstrap, AGREEMENTS, [(key, value, headers)])

    async def entries() -> int:
        letters = await read_dead_letters(bootstrap, [f"{AGREEMENTS}.dlq"])
        return len([d for d in letters if d.event_id == event_id])

    await _until(entries, 2)  # points and evaluation both give up on it

    code, out, err = await asyncio.to_thread(cobuild, var_dir, "dlq", "list")
    assert code == 0, out + err
    listing = out
    row = next(line for line in out.splitlines() if event_id in line)
    assert "party.teleported" in row and "contract:" in row and AGREEMENTS + "/" in row

    code, out, err = await asyncio.to_thread(
        cobuild, var_dir, "dlq", "redrive", "--event-id", event_id
    )
    assert code == 0, out + err
    assert "re-drove 1 message(s) for 2 entr(ies)" in out  # once for both groups

    async def redriven() -> int:
        return len([m for m in await read_dead_letters(bootstrap, [AGREEMENTS]) if m.key == key])

    await _until(redriven, 2)
    mine = [m for m in await read_dead_letters(bootstrap, [AGREEMENTS]) if m.key == key]
    assert [m.value for m in mine] == [value, value]
    assert [dict(m.headers) for m in mine] == [headers, headers]  # no dlq.* headers

    letters = await read_dead_letters(bootstrap, [f"{AGREEMENTS}.dlq"])
    ours = next(d for d in letters if d.event_id == event_id)
    entry = f"{ours.dlq_topic}/{ours.partition}/{ours.offset}"
    assert entry in listing
    code, out, _ = await asyncio.to_thread(cobuild, var_dir, "dlq", "redrive", "--entry", entry)
    assert code == 0 and "re-driven before" in out, out
    await asyncio.sleep(0.5)
    assert await redriven() == 2


async def test_redrive_releases_the_inbox_claim_a_handler_failure_left(stack: Stack) -> None:
    """Dead-lettering a handler failure claims the event in the group's inbox; without a
    release, the redriven event would be skipped as a repeat."""
    event_id, group = uuid.uuid4(), f"test-group-{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(stack.databases["points"])
    try:
        for table in ("inbox", "dead_letters"):
            await conn.execute(
                f"""INSERT INTO {table} (consumer, event_id, event_type, topic, partition, "offset"
                    {", error" if table == "dead_letters" else ""})
                    VALUES ($1, $2, 'party.registered', $3, 0, 1
                    {", 'handler: boom'" if table == "dead_letters" else ""})""",
                group,
                event_id,
                AGREEMENTS,
            )
        letter = DeadLetter(
            f"{AGREEMENTS}.dlq",
            0,
            0,
            b"k",
            b"{}",
            (("event_id", str(event_id).encode()), ("dlq.consumer_group", group.encode())),
        )
        other = uuid.uuid4()  # claimed, but never dead-lettered: kept
        await conn.execute(
            """INSERT INTO inbox (consumer, event_id, event_type, topic, partition, "offset")
               VALUES ($1, $2, 'party.registered', $3, 0, 2)""",
            group,
            other,
            AGREEMENTS,
        )
        other_letter = DeadLetter(
            f"{AGREEMENTS}.dlq",
            0,
            1,
            b"k",
            b"{}",
            (("event_id", str(other).encode()), ("dlq.consumer_group", group.encode())),
        )
        assert await release_inbox_claims(dict(stack.databases), [letter, other_letter]) == 1
        left = await conn.fetch("SELECT event_id FROM inbox WHERE consumer = $1", group)
        assert [r["event_id"] for r in left] == [other]
    finally:
        await conn.close()


def test_verify_passes_on_a_fresh_ledger(stack: Stack, var_dir: Path) -> None:
    code, out, err = cobuild(var_dir, "verify", "--year", str(YEAR))
    assert code == 0, out + err
    assert f"ledger {YEAR} verified" in out


def test_lag_lists_every_service(stack: Stack, var_dir: Path) -> None:
    code, out, err = cobuild(var_dir, "lag")
    assert code == 0, out + err
    assert all(name in out for name in SERVICES)


async def test_a_parked_row_shows_in_lag_and_is_resent_by_the_cli_after_a_fix(
    stack: Stack, var_dir: Path
) -> None:
    """Hardening, oversized events: the agreements relay parks a row the producer refuses as
    too large (put straight into its outbox, around the command's check) and the row of the
    same key behind it; `cobuild lag` and `cobuild outbox parked` show them; after the row is
    corrected, `cobuild outbox resend --event-id` has the relay send both, in order."""
    conn = await asyncpg.connect(stack.databases["agreements"])
    key, big, behind = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())

    def envelope(event_id: str, name: str) -> str:
        payload = {"party_id": key, "kind": "community", "name": name, "parent_id": None,
                   "unit_type": None, "code": None, "paired_community_ids": [], "version": 1}  # fmt: skip
        return json.dumps({
            "event_id": event_id, "event_type": "party.registered", "schema_version": 1,
            "occurred_at": datetime.now(UTC).isoformat(), "producer": "agreements",
            "correlation_id": None, "causation_id": None, "key": key, "payload": payload,
        })  # fmt: skip

    insert = (
        "INSERT INTO outbox (event_id, topic, key, event_type, envelope) "
        "VALUES ($1::uuid, $2, $3, 'party.registered', $4::text::jsonb)"
    )
    try:
        await conn.execute(insert, big, AGREEMENTS, key, envelope(big, "x" * 1_100_000))
        await conn.execute(insert, behind, AGREEMENTS, key, envelope(behind, "Parked Behind"))

        async def parked() -> int:
            return int(
                await conn.fetchval("SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL")
            )

        await _until(parked, 2, timeout=30)
        code, out, err = await asyncio.to_thread(cobuild, var_dir, "lag")
        assert code == 0, out + err
        assert "outbox parked" in out and "cobuild outbox parked" in out
        code, out, err = await asyncio.to_thread(cobuild, var_dir, "outbox", "parked")
        assert code == 0, out + err
        assert big in out and behind in out and "2 row(s) parked." in out
        assert "MessageSizeTooLargeError" in out and "held behind parked row" in out

        await conn.execute(
            "UPDATE outbox SET envelope = jsonb_set(envelope, '{payload,name}', "
            "'\"Trimmed Community\"') WHERE event_id = $1::uuid",
            big,
        )
        code, out, err = await asyncio.to_thread(
            cobuild, var_dir, "outbox", "resend", "--service", "agreements", "--event-id", big
        )
        assert code == 0, out + err
        assert "2 row(s) will be sent by the relays, in order" in out
        await _until(parked, 0, timeout=30)
        await _until(lambda: _unpublished(conn), 0, timeout=30)
    finally:
        await conn.execute(  # never leave a parked row to the other tests
            "UPDATE outbox SET parked_at = NULL, published_at = now() WHERE key = $1", key
        )
        await conn.close()
    assert await _event_ids_of_key(stack.broker.bootstrap, AGREEMENTS, key, 2) == [big, behind]


async def _event_ids_of_key(bootstrap: str, topic: str, key: str, n: int) -> list[str]:
    """The event ids of the first `n` messages of `key` on `topic`, from its beginning."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_wait_ms=20,
    )  # fmt: skip
    await consumer.start()
    try:
        await consumer.topics()
        parts = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in sorted(parts)])
        await consumer.seek_to_beginning()
        found: list[str] = []
        deadline = time.monotonic() + 15
        while len(found) < n and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found += [
                    dict(r.headers)["event_id"].decode() for r in records if r.key == key.encode()
                ]
        return found
    finally:
        await consumer.stop()


def test_assess_preview_finds_the_only_district_and_export_writes_a_file(
    stack: Stack, var_dir: Path, district: str, tmp_path: Path
) -> None:
    deadline = time.monotonic() + 15
    while True:  # evaluation learns the district from agreements' events
        code, out, err = cobuild(var_dir, "assess", "preview", "--year", str(YEAR))
        if code == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert code == 0, out + err
    assert "excellent rate" in out and "digest" in out

    target = tmp_path / "ledger.csv"
    code, out, err = cobuild(
        var_dir, "export", "ledger", "--format", "csv", "--scope", "all", "--out", str(target)
    )
    assert code == 0, out + err
    assert target.read_text(encoding="utf-8-sig").splitlines()[0].startswith("level,scope,id,name")


# -- helpers -----------------------------------------------------------------------------


async def _unpublished(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"))


async def _until(probe, want: int, *, at_least: bool = False, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        got = await probe()
        if (got >= want) if at_least else (got == want):
            return
        assert time.monotonic() < deadline, f"waited {timeout:g}s: got {got}, want {want}"
        await asyncio.sleep(0.2)
