"""`cobuild dlq list|redrive` on a message nested 100,000 deep (`[[[[…]]]]`) and on a truncated
copy. Before the fix, reading its event id or type parsed it with `json.loads`, which raised
RecursionError: `dlq list` crashed, and so did `dlq redrive --event-id` (it reads every entry's
event id), for every entry of the topic, not only this one."""

from __future__ import annotations

import uuid

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from cobuild_stack.ops.dlq import (
    DeadLetter,
    distinct_originals,
    letters_table,
    read_dead_letters,
    republish,
)
from cobuild_stack.testing import produce
from rich.console import Console

DEPTH = 100_000
DEEP = b"[" * DEPTH + b"]" * DEPTH


def _render(letters: list[DeadLetter]) -> str:
    console = Console(record=True, width=250, color_system=None)
    console.print(letters_table(letters, {}))
    return console.export_text()


def _letter(value: bytes, *headers: tuple[str, bytes], offset: int = 7) -> DeadLetter:
    base = (
        ("dlq.error", b"contract: not valid UTF-8 JSON: recursion limit exceeded"),
        ("dlq.consumer_group", b"points.agreements"),
        ("dlq.original_topic", b"agreements.events.v1"),
        ("dlq.original_partition", b"0"),
        ("dlq.original_offset", b"41"),
    )
    return DeadLetter("agreements.events.v1.dlq", 0, offset, b"k", value, (*headers, *base))


def test_a_deeply_nested_message_is_listed_as_unreadable_with_its_size() -> None:
    deep = _letter(DEEP)
    wrapped = _letter(b'{"event_id": ' + DEEP + b"}", offset=8)  # an object, deep inside
    assert deep.event_id is None and deep.event_type is None
    assert wrapped.event_id is None and wrapped.event_type is None
    assert deep.body_summary == "unreadable, 200,000 bytes: " + "[" * 40 + "…"
    out = _render([deep, wrapped])
    assert "unreadable, 200,000 bytes: [[[[" in out
    assert "unreadable, 200,014 bytes: {" in out
    assert "agreements.events.v1.dlq/0/7" in out and "agreements.events.v1/0/41" in out
    assert len(out) < 10_000  # a preview, not the message


def test_a_truncated_copy_is_listed_as_such() -> None:
    letter = _letter(
        b'{"event_id": "' + b"x" * 65_522,
        ("dlq.truncated", b"true"),
        ("dlq.original_size", b"1200035"),
    )
    assert letter.truncated
    assert letter.body_summary == "truncated: 65,536 of 1,200,035 bytes"
    assert "truncated: 65,536 of 1,200,035 bytes" in _render([letter])


async def test_a_deeply_nested_message_is_redriven_byte_for_byte(kafka_bootstrap: str) -> None:
    origin = f"stack.deep.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(t, num_partitions=1, replication_factor=1) for t in (origin, origin + ".dlq")]
        )
    finally:
        await admin.close()
    event_id = str(uuid.uuid4())
    headers = {
        "event_id": event_id.encode(),
        "x-test": b"1",
        "dlq.error": b"contract: not valid UTF-8 JSON",
        "dlq.consumer_group": b"points.agreements",
        "dlq.original_topic": origin.encode(),
        "dlq.original_partition": b"0",
        "dlq.original_offset": b"3",
    }
    other = {"dlq.original_topic": origin.encode(), "dlq.error": b"contract: bad"}
    await produce(
        kafka_bootstrap,
        origin + ".dlq",
        [(b"deep", DEEP, headers), (b"plain", b'{"event_id": "not this one"}', other)],
    )

    letters = await read_dead_letters(kafka_bootstrap, [origin + ".dlq"])
    assert len(letters) == 2
    assert "unreadable, 200,000 bytes" in _render(letters)
    # What `dlq redrive --event-id` does: select by event id (every entry's), then republish.
    mine = [d for d in letters if d.event_id == event_id]
    assert [d.key for d in mine] == [b"deep"]
    await republish(kafka_bootstrap, distinct_originals(mine))

    [back] = await read_dead_letters(kafka_bootstrap, [origin])
    assert back.value == DEEP
    assert back.key == b"deep"
    assert dict(back.headers) == {"event_id": event_id.encode(), "x-test": b"1"}
