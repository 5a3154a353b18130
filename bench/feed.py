"""Synthetic events, built with the contracts and produced as the producing service would.

Ids are deterministic per (run, name, index), so a phase can address what it fed earlier.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from aiokafka import AIOKafkaProducer
from cobuild_contracts import (
    AgreementOrigin,
    AgreementSigned,
    CommitmentFulfilled,
    CommitmentItem,
    CommitmentOpened,
    Event,
    ItemKind,
    Participant,
    PartyKind,
    PartyRegistered,
    UnitType,
    encode,
    wrap,
)
from cobuild_contracts.envelope import headers as envelope_headers
from cobuild_kit.kafka import to_headers

SIGNED_AT = datetime(2026, 1, 2, 2, 0, tzinfo=UTC)
TERM = (date(2026, 1, 1), date(2027, 12, 31))
DEADLINE = date(2027, 6, 30)  # in the future: no overdue scans or reminders in the way
ITEMS_PER_AGREEMENT = 10


def uid(run: str, name: str, i: int = 0) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"cobuild-bench/{run}/{name}/{i}")


@dataclass
class District:
    """One district: streets → communities, and units paired with communities."""

    run: str
    tag: str
    streets: int = 4
    communities: int = 21
    units: int = 343
    district_id: uuid.UUID = field(init=False)

    def __post_init__(self) -> None:
        self.district_id = uid(self.run, f"{self.tag}/district")

    def street(self, i: int) -> uuid.UUID:
        return uid(self.run, f"{self.tag}/street", i % self.streets)

    def community(self, i: int) -> uuid.UUID:
        return uid(self.run, f"{self.tag}/community", i % self.communities)

    def unit(self, i: int) -> uuid.UUID:
        return uid(self.run, f"{self.tag}/unit", i % self.units)

    def street_of_community(self, c: int) -> uuid.UUID:
        return self.street(c % self.streets)

    def party_events(self) -> list[PartyRegistered]:
        out: list[PartyRegistered] = [
            PartyRegistered(
                party_id=self.district_id, kind=PartyKind.DISTRICT, name=f"{self.tag} 区", version=1
            )
        ]
        out += [
            PartyRegistered(
                party_id=self.street(s),
                kind=PartyKind.STREET,
                name=f"{self.tag} 街道 {s:02d}",
                parent_id=self.district_id,
                version=1,
            )
            for s in range(self.streets)
        ]
        out += [
            PartyRegistered(
                party_id=self.community(c),
                kind=PartyKind.COMMUNITY,
                name=f"{self.tag} 社区 {c:02d}",
                parent_id=self.street_of_community(c),
                version=1,
            )
            for c in range(self.communities)
        ]
        out += [
            PartyRegistered(
                party_id=self.unit(u),
                kind=PartyKind.UNIT,
                name=f"{self.tag} 单位 {u:03d}",
                parent_id=self.district_id,
                unit_type=UnitType.ENTERPRISE,
                paired_community_ids=[self.community(u)],
                version=1,
            )
            for u in range(self.units)
        ]
        return out


@dataclass(frozen=True)
class Spot:
    """Where commitment `i` of a batch lives."""

    commitment_id: uuid.UUID
    agreement_id: uuid.UUID
    community_id: uuid.UUID
    unit_id: uuid.UUID
    member_id: uuid.UUID


class Batch:
    """`n` commitments in agreements of ITEMS_PER_AGREEMENT items; the unit is the obligor."""

    def __init__(self, district: District, name: str, n: int, members: int) -> None:
        self.district = district
        self.name = name
        self.n = n
        self.members = members

    def spot(self, i: int) -> Spot:
        d, a = self.district, i // ITEMS_PER_AGREEMENT
        return Spot(
            commitment_id=uid(d.run, f"{self.name}/commitment", i),
            agreement_id=uid(d.run, f"{self.name}/agreement", a),
            community_id=d.community(a),
            unit_id=d.unit(a),
            member_id=uid(d.run, "member", i % self.members),
        )

    def agreements(self) -> int:
        return -(-self.n // ITEMS_PER_AGREEMENT)

    def signed(self, a: int) -> AgreementSigned:
        first = a * ITEMS_PER_AGREEMENT
        spots = [self.spot(i) for i in range(first, min(first + ITEMS_PER_AGREEMENT, self.n))]
        s0 = spots[0]
        return AgreementSigned(
            agreement_id=s0.agreement_id,
            version=1,
            community_id=s0.community_id,
            unit_id=s0.unit_id,
            street_id=self.district.street_of_community(a % self.district.communities),
            district_id=self.district.district_id,
            term_start=TERM[0],
            term_end=TERM[1],
            origin=AgreementOrigin.NEGOTIATED,
            items=[
                CommitmentItem(
                    commitment_id=s.commitment_id,
                    title=f"共建任务 {self.name} #{first + k}",
                    kind=ItemKind.TASK,
                    category="happy_compound",
                    obligor_party_id=s.unit_id,
                    beneficiary_party_id=s.community_id,
                    responsible_title="党委书记",
                    deadline=DEADLINE,
                    funds_fen=10_000 * (1 + (first + k) % 7),
                )
                for k, s in enumerate(spots)
            ],
            signed_at=SIGNED_AT,
        )

    def opened(self, i: int) -> CommitmentOpened:
        s = self.spot(i)
        return CommitmentOpened(
            commitment_id=s.commitment_id,
            agreement_id=s.agreement_id,
            community_id=s.community_id,
            unit_id=s.unit_id,
            obligor_party_id=s.unit_id,
            beneficiary_party_id=s.community_id,
            title=f"共建任务 {self.name} #{i}",
            kind=ItemKind.TASK,
            category="happy_compound",
            deadline=DEADLINE,
            funds_fen=10_000 * (1 + i % 7),
            opened_at=SIGNED_AT,
        )

    def fulfilled(self, i: int) -> CommitmentFulfilled:
        """As the commitments service would publish it on confirmation."""
        s = self.spot(i)
        day = date(2026, 1, 5) + timedelta(days=i % 300)  # spread: the daily caps stay clear
        done = datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)
        return CommitmentFulfilled(
            commitment_id=s.commitment_id,
            agreement_id=s.agreement_id,
            community_id=s.community_id,
            unit_id=s.unit_id,
            obligor_party_id=s.unit_id,
            beneficiary_party_id=s.community_id,
            participants=[Participant(member_id=s.member_id, hours=Decimal("1"))],
            committed_quantity=1,
            actual_quantity=1,
            partial=False,
            committed_fen=10_000 * (1 + i % 7),
            paid_fen=10_000 * (1 + i % 7),
            deadline=DEADLINE,
            done_at=done,
            done_date=day,
            confirmed_at=done + timedelta(hours=1),
            on_time=True,
        )


Record = tuple[str, bytes, bytes, list[tuple[str, bytes]]]


def _record(event: Event, producer: str, at: datetime) -> Record:
    env = wrap(event, producer=producer, occurred_at=at)
    return event.TOPIC, env.key.encode(), encode(env), to_headers(envelope_headers(env))


def encode_all(events: Iterable[Event], producer_name: str) -> list[Record]:
    """Wrapped and encoded ahead of a timed phase, so the feed costs little while measured."""
    return [_record(e, producer_name, SIGNED_AT) for e in events]


async def produce(producer: AIOKafkaProducer, records: list[Record]) -> int:
    """Send; returns the count once the broker acknowledged all of them."""
    pending: list[asyncio.Future[object]] = []
    for n, (topic, key, value, headers) in enumerate(records, 1):
        pending.append(await producer.send(topic, value=value, key=key, headers=headers))
        if len(pending) >= 20_000:
            await asyncio.gather(*pending)
            pending.clear()
        if n % 2000 == 0:
            await asyncio.sleep(0)
    await asyncio.gather(*pending)
    return len(records)
