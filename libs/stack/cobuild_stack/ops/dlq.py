"""`cobuild dlq list|redrive`: inspect the dead-letter topics and re-drive their entries.

Re-driving republishes the original bytes, key and headers (without the dlq.* ones) to the
original topic, so the event keeps its event_id and every inbox absorbs a repeat (ARCHITECTURE.md, "Dead letters").
Several consumer groups may dead-letter the same message: it is re-driven once. A handler
failure left the event claimed in that group's inbox, so the claim is released first (only
where the group's dead_letters table records it), or the redriven event would be skipped.
What was re-driven is recorded in var/dlq-redriven.json so it is not re-driven twice.

A message is any bytes: it is read for its event id and type only if it is a JSON object, and
a body that is not (bad JSON, nested too deep to parse) is listed as unreadable with its size
and first characters, and re-driven byte for byte all the same. An entry the consumer had to
truncate (`dlq.truncated`: too large for the DLQ) is listed as such and never re-driven: the
original is still on its topic at `dlq.original_topic|partition|offset`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import asyncpg
import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.markup import escape
from rich.table import Table

from ..errors import StackError
from ..topics import EVENT_TOPICS, dlq_topic
from .common import Stack, VarDir, clear_errors, console

STATE_FILE = "dlq-redriven.json"
app = typer.Typer(help="Inspect and re-drive the dead-letter topics.", no_args_is_help=True)


@dataclass(frozen=True)
class DeadLetter:
    dlq_topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v.decode(errors="replace")
        return None

    @property
    def entry(self) -> str:
        """Where it sits, plus a digest: a broker restarted empty reuses offsets."""
        digest = hashlib.sha256(self.value or b"").hexdigest()[:12]
        return f"{self.dlq_topic}/{self.partition}/{self.offset}@{digest}"

    @property
    def origin_key(self) -> str:
        """The original message: once it is re-driven, every group's entry of it is done."""
        digest = hashlib.sha256(self.value or b"").hexdigest()[:12]
        return "origin:" + "/".join(self.origin) + f"@{digest}"

    def redriven(self, state: dict[str, Any]) -> bool:
        return self.entry in state or self.origin_key in state

    @property
    def origin(self) -> tuple[str, str, str]:
        topic = self.header("dlq.original_topic") or self.dlq_topic.removesuffix(".dlq")
        return (
            topic,
            self.header("dlq.original_partition") or "?",
            self.header("dlq.original_offset") or "?",
        )

    @cached_property
    def _parsed(self) -> dict[str, Any] | None:
        """The body as a JSON object, or None: not JSON, not an object, or nested deeper than
        the parser goes (json raises RecursionError past about 1,000 levels, at once)."""
        value = self.value or b""
        if value.lstrip()[:1] != b"{":
            return None
        try:
            body = json.loads(value)
        except (ValueError, RecursionError):
            return None
        return body if isinstance(body, dict) else None

    def _body(self) -> dict[str, Any]:
        return self._parsed or {}

    @property
    def size(self) -> int:
        return len(self.value or b"")

    @property
    def truncated(self) -> bool:
        return self.header("dlq.truncated") == "true"

    @property
    def body_summary(self) -> str:
        """How `dlq list` shows the body: its size, and for one that is not a JSON object,
        that it is unreadable and how it begins (never the whole of it)."""
        if self.truncated:
            whole = self.header("dlq.original_size") or "?"
            return f"truncated: {self.size:,} of {_grouped(whole)} bytes"
        if self._parsed is not None:
            return f"{self.size:,} bytes"
        head = (self.value or b"")[:PREVIEW_BYTES].decode(errors="replace")
        head = "".join(c if c.isprintable() else "\ufffd" for c in head)
        more = "…" if self.size > PREVIEW_BYTES else ""
        return f"unreadable, {self.size:,} bytes: {head}{more}"

    @property
    def event_id(self) -> str | None:
        return self.header("event_id") or _str(self._body().get("event_id"))

    @property
    def event_type(self) -> str | None:
        return self.header("event_type") or _str(self._body().get("event_type"))

    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v) for k, v in self.headers if not k.startswith("dlq.")]


PREVIEW_BYTES = 40


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _grouped(number: str) -> str:
    return f"{int(number):,}" if number.isdigit() else number


async def read_dead_letters(
    bootstrap: str, topics: list[str], timeout: float = 15.0
) -> list[DeadLetter]:
    """Everything on the dead-letter topics now, read without a consumer group (nothing
    committed, no group join)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,  # Tansu does not wake a waiting fetch
    )
    try:
        await consumer.start()
    except Exception as exc:
        raise StackError(f"cannot reach the broker at {bootstrap}: {exc}") from None
    try:
        await consumer.topics()  # fetches the cluster's metadata
        assigned = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not assigned:
            return []
        consumer.assign(assigned)
        await consumer.seek_to_beginning()
        starts = await consumer.beginning_offsets(assigned)
        ends = await consumer.end_offsets(assigned)
        pending = {tp for tp in assigned if ends[tp] > starts[tp]}  # what is there right now
        got: list[DeadLetter] = []
        deadline = time.monotonic() + timeout
        while pending:
            if time.monotonic() > deadline:
                raise StackError(f"reading the dead-letter topics took over {timeout:g}s")
            batch = await consumer.getmany(timeout_ms=200)
            for tp, records in batch.items():
                for r in records:
                    if r.offset >= ends[tp]:
                        continue  # arrived after we looked: next time
                    got.append(
                        DeadLetter(
                            r.topic,
                            r.partition,
                            r.offset,
                            r.key,
                            r.value,
                            tuple((k, bytes(v)) for k, v in r.headers),
                        )
                    )
                    if r.offset >= ends[tp] - 1:
                        pending.discard(tp)
        return sorted(got, key=lambda d: (d.dlq_topic, d.partition, d.offset))
    finally:
        await consumer.stop()


def _dlq_topics(topic: str | None) -> list[str]:
    if topic is None:
        return [dlq_topic(t) for t in EVENT_TOPICS]
    return [topic if topic.endswith(".dlq") else dlq_topic(topic)]


# -- the record of what was re-driven -----------------------------------------------------


def load_state(var_dir: Path) -> dict[str, Any]:
    path = var_dir / STATE_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise StackError(f"{path} is not valid JSON: {exc}") from None
    return data if isinstance(data, dict) else {}


def save_state(var_dir: Path, state: dict[str, Any]) -> None:
    path = var_dir / STATE_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


# -- re-driving ----------------------------------------------------------------------------


async def release_inbox_claims(dsns: dict[str, str], letters: list[DeadLetter]) -> int:
    """Undo the inbox claims that dead-lettering a handler failure left behind."""
    pairs = {
        (group, UUID(eid))
        for d in letters
        if (group := d.header("dlq.consumer_group")) and (eid := _uuid(d.event_id))
    }
    if not pairs:
        return 0
    released = 0
    for service, dsn in dsns.items():
        try:
            conn = await asyncpg.connect(dsn, timeout=10)
        except (OSError, asyncpg.PostgresError) as exc:
            raise StackError(f"cannot reach the {service} database: {exc}") from None
        try:
            for group, event_id in pairs:
                status = await conn.execute(
                    """DELETE FROM inbox i USING dead_letters d
                       WHERE i.consumer = $1 AND i.event_id = $2
                         AND d.consumer = i.consumer AND d.event_id = i.event_id""",
                    group,
                    event_id,
                )
                released += int(status.split()[-1])
        except asyncpg.UndefinedTableError:
            pass  # not a kit service database
        finally:
            await conn.close()
    return released


def _uuid(value: str | None) -> str | None:
    try:
        return str(UUID(value)) if value else None
    except ValueError:
        return None


async def republish(bootstrap: str, letters: list[DeadLetter]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for d in letters:
            await producer.send_and_wait(
                d.origin[0], d.value, key=d.key, headers=d.original_headers()
            )
    finally:
        await producer.stop()


def distinct_originals(letters: list[DeadLetter]) -> list[DeadLetter]:
    """One entry per original message (several groups may have dead-lettered it)."""
    seen: dict[tuple[str, str, str, bytes | None], DeadLetter] = {}
    for d in letters:
        seen.setdefault((*d.origin, d.value), d)
    return list(seen.values())


# -- commands ------------------------------------------------------------------------------

Topic = Annotated[
    str | None,
    typer.Option(help="An event topic (or its .dlq topic). Default: all four."),
]


@app.command("list")
@clear_errors
def list_command(
    topic: Topic = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many (newest).")] = 50,
    var_dir: VarDir = Path("var"),
) -> None:
    """Every dead-lettered message: where it came from, which group gave up, and why."""
    stack = Stack(var_dir)
    letters = asyncio.run(read_dead_letters(stack.bootstrap, _dlq_topics(topic)))
    console.print(letters_table(letters, load_state(var_dir), limit))


def letters_table(letters: list[DeadLetter], done: dict[str, Any], limit: int = 50) -> Table:
    """The newest `limit` dead letters, one row each."""
    table = Table(title=f"Dead letters ({len(letters)})")
    for column in ("entry", "original", "group", "event type", "event id"):
        table.add_column(column, no_wrap=True)
    table.add_column("error", overflow="fold")
    table.add_column("body", overflow="fold")
    table.add_column("re-driven")
    for d in letters[-limit:]:
        table.add_row(
            escape(f"{d.dlq_topic}/{d.partition}/{d.offset}"),
            escape("/".join(d.origin)),
            escape(d.header("dlq.consumer_group") or "-"),
            escape(d.event_type or "-"),
            escape(d.event_id or "-"),
            escape(d.header("dlq.error") or "-"),
            escape(d.body_summary),
            "yes" if d.redriven(done) else "",
        )
    return table


@app.command("redrive")
@clear_errors
def redrive_command(
    topic: Topic = None,
    event_id: Annotated[
        str | None, typer.Option("--event-id", help="Re-drive the entries of this event.")
    ] = None,
    entry: Annotated[
        str | None,
        typer.Option(help="Re-drive one entry, as `dlq list` shows it: <dlq topic>/<p>/<offset>."),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Re-drive every entry.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Also re-drive entries re-driven before.")
    ] = False,
    var_dir: VarDir = Path("var"),
) -> None:
    """Republish dead-lettered messages, as they were, to their original topic."""
    if sum((event_id is not None, entry is not None, all_)) != 1:
        raise StackError("choose what to re-drive: --event-id ID, --entry TOPIC/P/OFFSET or --all")
    stack = Stack(var_dir)
    letters = asyncio.run(read_dead_letters(stack.bootstrap, _dlq_topics(topic)))
    if event_id is not None:
        letters = [d for d in letters if d.event_id == event_id]
    elif entry is not None:
        letters = [d for d in letters if f"{d.dlq_topic}/{d.partition}/{d.offset}" == entry]
    if not letters:
        raise StackError("no dead-lettered message matches")
    partial = [d for d in letters if d.truncated]
    letters = [d for d in letters if not d.truncated]
    for d in partial:
        console.print(
            f"not re-driving {escape(d.entry)}: a truncated copy; the original is at "
            + escape("/".join(d.origin))
        )
    if not letters:
        raise StackError("only truncated copies match: re-drive the originals from their topic")
    state = load_state(var_dir)
    fresh = letters if force else [d for d in letters if not d.redriven(state)]
    if not fresh:
        console.print(f"{len(letters)} matching entr(ies) were re-driven before: use --force")
        return
    originals = distinct_originals(fresh)
    dsns = dict(stack.info["databases"])
    released = asyncio.run(release_inbox_claims(dsns, fresh))
    asyncio.run(republish(stack.bootstrap, originals))
    now = datetime.now(UTC).isoformat()
    for d in fresh:
        record = {"redriven_at": now, "to": d.origin[0], "event_id": d.event_id}
        state[d.entry] = state[d.origin_key] = record
    save_state(var_dir, state)
    skipped = len(letters) - len(fresh)
    console.print(
        f"re-drove {len(originals)} message(s) for {len(fresh)} entr(ies)"
        + (f"; released {released} inbox claim(s)" if released else "")
        + (f"; {skipped} re-driven before (use --force)" if skipped else "")
    )
