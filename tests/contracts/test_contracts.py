"""Contract tests: pinned samples, the codec, unknown-field rules, errors, ids, export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import cobuild_contracts as c
import pytest
from cobuild_contracts import export, topics
from cobuild_contracts.base import Event
from pydantic import ValidationError

SAMPLES = resources.files("cobuild_contracts") / "samples"
SAMPLE_NAMES = sorted(
    p.name.removesuffix(".json") for p in SAMPLES.iterdir() if p.name.endswith(".json")
)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "contracts"


def raw_sample(event_type: str) -> bytes:
    return (SAMPLES / f"{event_type}.json").read_bytes()


def sample_dict(event_type: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(raw_sample(event_type))
    return data


def to_raw(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


def all_event_subclasses() -> set[type[Event]]:
    seen: set[type[Event]] = set()
    todo = list(Event.__subclasses__())
    while todo:
        cls = todo.pop()
        seen.add(cls)
        todo.extend(cls.__subclasses__())
    # Private bases (e.g. _PartySnapshot) pin no EVENT_TYPE of their own.
    return {cls for cls in seen if "EVENT_TYPE" in vars(cls)}


# --- registry and samples --------------------------------------------------------------


def test_every_registered_type_has_a_sample_and_no_sample_lacks_a_type() -> None:
    assert set(SAMPLE_NAMES) == set(c.EVENT_TYPES)
    assert len(c.EVENT_TYPES) == 65


def test_every_event_class_is_registered() -> None:
    assert all_event_subclasses() == set(c.EVENT_TYPES.values())


def test_catalogue_per_topic() -> None:
    assert set(c.events_on(topics.COMMITMENTS)) >= {
        "commitment.opened",
        "commitment.fulfilled",
        "commitment.overdue",
        "commitment.cancelled",
    }
    for event_type, cls in c.EVENT_TYPES.items():
        assert cls.TOPIC in topics.ALL_TOPICS, event_type
        assert event_type == cls.EVENT_TYPE
    assert sum(len(c.events_on(t)) for t in topics.ALL_TOPICS) == len(c.EVENT_TYPES)
    assert topics.dlq(topics.POINTS) == "points.events.v1.dlq"


def test_event_class_lookup() -> None:
    assert c.event_class("agreement.signed") is c.AgreementSigned
    with pytest.raises(c.UnknownEventType) as info:
        c.event_class("agreement.sealed")
    assert info.value.field == "event_type"


def test_micro_wishes_are_not_a_need_kind() -> None:
    assert {k.value for k in c.ItemKind} == {
        "task",
        "service_project",
        "funds",
        "venue",
        "volunteers",
    }
    for category in c.HongfanCategory:
        c.NeedPublished.model_validate(
            {**sample_dict("need.published")["payload"], "category": category}
        )


def test_no_personal_data_fields() -> None:
    forbidden = ("phone", "mobile", "id_card", "real_name", "member_name", "address", "email")
    models: list[type[Any]] = [*c.EVENT_TYPES.values(), c.CommitmentItem, c.Participant]
    for model in models:
        for field in model.model_fields:
            assert not any(word in field for word in forbidden), (model.__name__, field)
    assert set(c.Participant.model_fields) == {"member_id", "hours"}


def test_the_subjects_added_in_v1_are_optional() -> None:
    """`member.reported` gained `subject` and `expert.registered` carries one only when known
    (issue 33): an event without them, as producers sent them before, still decodes."""
    for event_type in ("member.reported", "expert.registered", "member.report_declined"):
        data = sample_dict(event_type)
        del data["payload"]["subject"]
        _, event = c.decode(to_raw(data))
        assert event.subject is None  # type: ignore[attr-defined]
        data["payload"]["subject"] = ""
        with pytest.raises(c.ContractError):
            c.decode(to_raw(data))


def test_who_acted_on_a_sign_up_was_added_in_v1_and_defaults_to_the_member() -> None:
    """`by_community` (issue 37): a sign-up made or cancelled as producers sent it before
    decodes as the member's own; a value that is no boolean is refused."""
    for event_type in ("activity.signed_up", "activity.sign_up_cancelled"):
        data = sample_dict(event_type)
        del data["payload"]["by_community"]
        _, event = c.decode(to_raw(data))
        assert event.by_community is False  # type: ignore[attr-defined]
        data["payload"]["by_community"] = "maybe"
        with pytest.raises(c.ContractError):
            c.decode(to_raw(data))
    _, cancelled = c.decode(raw_sample("activity.sign_up_cancelled"))
    assert cancelled.by_community is True  # type: ignore[attr-defined]


@pytest.mark.parametrize("event_type", SAMPLE_NAMES)
def test_sample_round_trip(event_type: str) -> None:
    raw = raw_sample(event_type)
    envelope, event = c.decode(raw)
    assert envelope.event_type == event_type
    assert type(event) is c.EVENT_TYPES[event_type]
    assert event.key() == envelope.key

    again = c.encode(envelope)
    envelope2, event2 = c.decode(again)
    assert (envelope2, event2) == (envelope, event)
    # The pinned sample is canonical: nothing dropped, no default left out.
    assert json.loads(again) == json.loads(raw)
    assert event.model_dump(mode="json") == json.loads(raw)["payload"]


@pytest.mark.parametrize("event_type", SAMPLE_NAMES)
def test_wrap_rebuilds_the_sample(event_type: str) -> None:
    envelope, event = c.decode(raw_sample(event_type))
    rebuilt = c.wrap(
        event,
        producer=envelope.producer,
        occurred_at=envelope.occurred_at,
        correlation_id=envelope.correlation_id,
        causation_id=envelope.causation_id,
        event_id=envelope.event_id,
    )
    assert rebuilt == envelope
    assert c.headers(rebuilt)["event_type"] == event_type


def _walk(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _walk(v)]
    if isinstance(value, list):
        return [x for v in value for x in _walk(v)]
    return [value]


@pytest.mark.parametrize("event_type", SAMPLE_NAMES)
def test_no_float_on_the_wire(event_type: str) -> None:
    envelope, _ = c.decode(raw_sample(event_type))
    leaves = _walk(json.loads(c.encode(envelope)))
    assert not [v for v in leaves if isinstance(v, float)]


def test_money_is_int_and_decimals_are_strings() -> None:
    _, fulfilled = c.decode(raw_sample("commitment.fulfilled"))
    wire = json.loads(c.encode(c.wrap(fulfilled, producer="t", occurred_at=datetime.now(UTC))))
    payload = wire["payload"]
    assert type(payload["paid_fen"]) is int and payload["paid_fen"] == 1_820_000
    assert type(payload["committed_fen"]) is int
    assert all(type(p["hours"]) is str for p in payload["participants"])

    awarded = c.PointsAwarded.model_validate(sample_dict("points.awarded")["payload"])
    assert awarded.model_dump(mode="json")["points"] == "4.50"
    assert isinstance(awarded.points, Decimal)

    scored = c.AssessmentCompleted.model_validate(
        {**sample_dict("assessment.completed")["payload"], "member_excellent_rate": "0.9"}
    )
    assert scored.model_dump(mode="json")["member_excellent_rate"] == "0.9000"
    # A large decimal stays fixed-point, never exponent notation.
    unit = c.UnitScored.model_validate(
        {**sample_dict("unit.scored")["payload"], "components": {"x": Decimal("1E+2")}}
    )
    assert unit.model_dump(mode="json")["components"]["x"] == "100"


@pytest.mark.parametrize("value", [10.5, "1000", 10.0, -1, True])
def test_fen_refuses_floats_strings_and_negatives(value: Any) -> None:
    payload = {**sample_dict("need.published")["payload"], "funds_fen": value}
    with pytest.raises(ValidationError):
        c.NeedPublished.model_validate(payload)


def test_rate_refuses_more_than_four_places() -> None:
    payload = {**sample_dict("assessment.completed")["payload"], "unit_excellent_rate": "0.12345"}
    with pytest.raises(ValidationError):
        c.AssessmentCompleted.model_validate(payload)


def test_timestamps_are_normalised_to_utc() -> None:
    shanghai = timezone(timedelta(hours=8))
    _, event = c.decode(raw_sample("need.claimed"))
    envelope = c.wrap(
        event, producer="agreements", occurred_at=datetime(2025, 3, 1, 8, 0, tzinfo=shanghai)
    )
    assert envelope.occurred_at == datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
    assert envelope.occurred_at.utcoffset() == timedelta(0)
    assert json.loads(c.encode(envelope))["occurred_at"] == "2025-03-01T00:00:00Z"
    with pytest.raises(c.ContractError) as info:
        c.wrap(event, producer="agreements", occurred_at=datetime(2025, 3, 1, 8, 0))
    assert info.value.field == "occurred_at"


def test_encode_is_compact_utf8() -> None:
    envelope, _ = c.decode(raw_sample("need.published"))
    raw = c.encode(envelope)
    assert "楼道".encode() in raw
    assert b"\\u" not in raw
    assert b": " not in raw and b", " not in raw


# --- unknown fields: ignored on read, refused on write ---------------------------------


def test_unknown_fields_are_ignored_on_read() -> None:
    data = sample_dict("agreement.signed")
    data["trace_flags"] = "01"
    data["payload"]["sealed_by"] = "someone"
    data["payload"]["items"][0]["priority"] = "high"
    envelope, event = c.decode(to_raw(data))
    assert isinstance(event, c.AgreementSigned)
    assert "trace_flags" not in envelope.model_dump()
    assert "sealed_by" not in event.model_dump()
    assert "priority" not in event.items[0].model_dump()
    assert event == c.decode(raw_sample("agreement.signed"))[1]


def test_unknown_fields_are_refused_on_write() -> None:
    data = sample_dict("agreement.signed")
    with pytest.raises(ValidationError):
        c.Envelope.model_validate({**data, "trace_flags": "01"})
    with pytest.raises(ValidationError):
        c.Envelope(**{**data, "trace_flags": "01"})
    payload = data["payload"]
    with pytest.raises(ValidationError):
        c.AgreementSigned.model_validate({**payload, "sealed_by": "someone"})
    with pytest.raises(ValidationError):
        c.CommitmentItem(**{**payload["items"][0], "priority": "high"})
    nested = {**payload, "items": [{**payload["items"][0], "priority": "high"}]}
    with pytest.raises(ValidationError) as info:
        c.AgreementSigned.model_validate(nested)
    assert info.value.errors()[0]["loc"] == ("items", 0, "priority")


def test_models_are_frozen() -> None:
    _, event = c.decode(raw_sample("need.claimed"))
    with pytest.raises(ValidationError):
        event.need_id = uuid.uuid4()


def test_wrap_refuses_an_invalid_constructed_event() -> None:
    _, good = c.decode(raw_sample("need.published"))
    bad = good.model_copy(update={"quantity": 0})  # model_copy does not validate
    with pytest.raises(c.ContractError) as info:
        c.wrap(bad, producer="agreements", occurred_at=datetime.now(UTC))
    assert info.value.field == "quantity"


# --- bad messages raise ContractError naming the field ---------------------------------


def _mutate(event_type: str, path: str, value: Any) -> bytes:
    data = sample_dict(event_type)
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return to_raw(data)


_DELETE = object()

BAD_PAYLOADS = [
    ("agreement.signed", "payload.items.0.deadline", "2025-02-30", "payload.items.0.deadline"),
    ("agreement.signed", "payload.items.1.funds_fen", 12.5, "payload.items.1.funds_fen"),
    ("agreement.signed", "payload.items", [], "payload.items"),
    ("agreement.signed", "payload.community_id", "not-a-uuid", "payload.community_id"),
    ("need.published", "payload.need_id", _DELETE, "payload.need_id"),
    ("need.published", "payload.category", "Happy Compound", "payload.category"),
    ("need.published", "payload.kind", "micro_wish", "payload.kind"),
    ("points.awarded", "payload.points", "-1.00", "payload.points"),
    ("points.awarded", "payload.points", "1.005", "payload.points"),
    ("attendance.confirmed", "payload.hours", "25", "payload.hours"),
    ("party.registered", "payload.unit_type", None, "payload.unit_type"),
    ("evaluation.submitted", "payload.rating", None, "payload.rating"),
    ("evaluation.submitted", "payload.comment", "长" * 501, "payload.comment"),
    ("resource.offered", "payload.available_until", "2025-01-01", "payload.available_until"),
    ("activity.published", "payload.ends_at", "2025-04-19T00:00:00Z", "payload.ends_at"),
    ("evidence.submitted", "payload.sha256", "XYZ", "payload.sha256"),
    ("commitment.fulfilled", "payload.participants.0.hours", "0", "payload.participants.0.hours"),
    ("commitment.opened", "payload.opened_at", "2025-02-28T10:00:00", "payload.opened_at"),
    ("assessment.completed", "payload.unit_count", 150, "payload.unit_grades"),
    ("need.claimed", "payload.need_id", str(uuid.uuid4()), "key"),
    ("need.claimed", "event_id", "nope", "event_id"),
    ("need.claimed", "occurred_at", _DELETE, "occurred_at"),
    ("need.claimed", "payload", [], "payload"),
]


@pytest.mark.parametrize(("event_type", "path", "value", "field"), BAD_PAYLOADS)
def test_bad_message_names_the_field(event_type: str, path: str, value: Any, field: str) -> None:
    raw = _mutate(event_type, path, value)
    with pytest.raises(c.ContractError) as info:
        c.decode(raw)
    assert not isinstance(info.value, ValidationError)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


def test_cross_party_item_is_refused() -> None:
    raw = _mutate("agreement.signed", "payload.items.0.obligor_party_id", str(uuid.uuid4()))
    with pytest.raises(c.ContractError) as info:
        c.decode(raw)
    assert info.value.field == "payload.items"
    assert "item 0" in info.value.reason


def test_obligor_must_differ_from_beneficiary() -> None:
    item = sample_dict("agreement.signed")["payload"]["items"][0]
    with pytest.raises(ValidationError) as info:
        c.CommitmentItem.model_validate({**item, "beneficiary_party_id": item["obligor_party_id"]})
    assert info.value.errors()[0]["loc"] == ("beneficiary_party_id",)


def test_unknown_event_type() -> None:
    raw = _mutate("need.claimed", "event_type", "need.sold")
    with pytest.raises(c.UnknownEventType) as info:
        c.decode(raw)
    assert info.value.field == "event_type"
    assert info.value.event_type == "need.sold"
    # The envelope alone still parses: a consumer can dead-letter with its metadata.
    assert c.decode_envelope(raw).event_type == "need.sold"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not valid UTF-8 JSON"),
        (b"\xff\xfe", "not valid UTF-8 JSON"),
        (b"[1, 2]", "the envelope must be a JSON object"),
        (b"null", "the envelope must be a JSON object"),
    ],
)
def test_not_an_envelope(raw: bytes, reason: str) -> None:
    with pytest.raises(c.ContractError) as info:
        c.decode(raw)
    assert info.value.field is None
    assert info.value.reason.startswith(reason)


# --- ids -------------------------------------------------------------------------------


def test_uuid7_layout_and_order() -> None:
    before = time.time_ns() // 1_000_000
    ids = [c.new_event_id() for _ in range(5000)]
    after = time.time_ns() // 1_000_000
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in ids)
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids), "uuid7s from one process must be monotonic"
    assert [str(u) for u in ids] == sorted(str(u) for u in ids)
    assert before <= c.uuid7_unix_ms(ids[0]) <= c.uuid7_unix_ms(ids[-1]) <= after + 5


def test_uuid7_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    c.new_event_id()  # the parent has buffered random bytes left
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        os.write(write, "".join(str(c.new_event_id()) for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        theirs = pipe.read()
    ours = [str(c.new_event_id()) for _ in range(50)]
    assert len(theirs) == 50 * 36
    # Same millisecond and counter are likely; the random tail must still differ.
    assert not {u[-12:] for u in ours} & {
        theirs[i + 24 : i + 36] for i in range(0, len(theirs), 36)
    }


def test_uuid7_with_a_given_instant() -> None:
    ms = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1000)
    value = c.uuid7(ms)
    assert c.uuid7_unix_ms(value) == ms
    assert str(value).startswith("01941f29-7c00-7")
    assert value.version == 7 and value.variant == uuid.RFC_4122
    assert c.uuid7(ms - 1) < c.uuid7(ms) < c.uuid7(ms + 1)


# --- export ----------------------------------------------------------------------------


def test_export_writes_one_schema_per_event(tmp_path: Path) -> None:
    (tmp_path / "gone.event.schema.json").write_text("{}")
    assert export.main([str(tmp_path)]) == 0
    schemas = {p.name for p in tmp_path.glob("*.schema.json")}
    assert schemas == {f"{t}.schema.json" for t in c.EVENT_TYPES} | {"envelope.schema.json"}

    index = json.loads((tmp_path / "index.json").read_text())
    assert [e["event_type"] for e in index["events"]] == list(c.EVENT_TYPES)
    signed = json.loads((tmp_path / "agreement.signed.schema.json").read_text())
    assert signed["x-topic"] == topics.AGREEMENTS and signed["x-key"] == "agreement_id"
    assert signed["additionalProperties"] is False
    assert set(signed["properties"]) == set(c.AgreementSigned.model_fields)
    awarded = json.loads((tmp_path / "points.awarded.schema.json").read_text())
    assert awarded["properties"]["points"]["type"] == "string"


def test_export_runs_as_a_module(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "cobuild_contracts.export", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "envelope.schema.json").is_file()


def test_docs_contracts_are_current() -> None:
    # docs/contracts is generated by `make contracts`; a contract change must re-export.
    for name, text in export.build().items():
        path = DOCS / name
        assert path.is_file(), f"{path} missing: run `make contracts`"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `make contracts`"


def test_business_dates_are_dates() -> None:
    _, event = c.decode(raw_sample("commitment.fulfilled"))
    assert isinstance(event, c.CommitmentFulfilled)
    assert event.deadline == date(2025, 6, 30) and type(event.done_date) is date
