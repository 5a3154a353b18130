"""Events of the agreements service (talk + sign), on ``agreements.events.v1``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import ClassVar
from uuid import UUID

from pydantic import Field, ValidationInfo, field_validator

from .. import topics
from ..base import (
    BusinessDate,
    CategoryCode,
    Contract,
    Count,
    Event,
    Fen,
    Percent,
    Quantity,
    Rank,
    Reason,
    Text,
    Title,
    Unit,
    UtcDatetime,
    Version,
)
from ..enums import AgreementOrigin, ItemKind, PartyKind, UnitType, Visibility


class _AgreementsEvent(Event):
    TOPIC: ClassVar[str] = topics.AGREEMENTS


def _not_before(value: date, info: ValidationInfo, start_field: str) -> date:
    # Cross-field checks sit on the later field so the error names it; if the earlier
    # field already failed it is missing from info.data and there is nothing to compare.
    start = info.data.get(start_field)
    if isinstance(start, date) and value < start:
        raise ValueError(f"must not be before {start_field} ({start.isoformat()})")
    return value


# --- parties ---------------------------------------------------------------------------


class _PartySnapshot(_AgreementsEvent):
    """A full snapshot of a party (place or unit). Consumers upsert by ``party_id``."""

    KEY_FIELD: ClassVar[str] = "party_id"

    party_id: UUID
    kind: PartyKind
    name: Title  # an organisation's or place's name, never a person's
    # street -> district, community -> street, grid -> community, unit -> its district.
    parent_id: UUID | None = None
    unit_type: UnitType | None = Field(default=None, validate_default=True)
    code: str | None = Field(default=None, max_length=64)
    # Units only: the communities the unit is paired with (结对, ARCHITECTURE.md "Ids").
    paired_community_ids: list[UUID] = Field(default_factory=list)
    active: bool = True
    version: Version

    @field_validator("unit_type")
    @classmethod
    def _unit_type_iff_unit(cls, value: UnitType | None, info: ValidationInfo) -> UnitType | None:
        kind = info.data.get("kind")
        if kind == PartyKind.UNIT and value is None:
            raise ValueError("required when kind is 'unit'")
        if kind is not None and kind != PartyKind.UNIT and value is not None:
            raise ValueError("only a unit has a unit_type")
        return value

    @field_validator("paired_community_ids")
    @classmethod
    def _pairings_for_units(cls, value: list[UUID], info: ValidationInfo) -> list[UUID]:
        kind = info.data.get("kind")
        if value and kind is not None and kind != PartyKind.UNIT:
            raise ValueError("only a unit is paired with communities")
        if len(set(value)) != len(value):
            raise ValueError("duplicate community id")
        return value


class PartyRegistered(_PartySnapshot):
    EVENT_TYPE: ClassVar[str] = "party.registered"


class PartyUpdated(_PartySnapshot):
    """A changed party, including a unit's pairings."""

    EVENT_TYPE: ClassVar[str] = "party.updated"


# --- needs and resources ---------------------------------------------------------------


class NeedPublished(_AgreementsEvent):
    """A community's need, published or re-published (a revision has version + 1)."""

    EVENT_TYPE: ClassVar[str] = "need.published"
    KEY_FIELD: ClassVar[str] = "need_id"

    need_id: UUID
    community_id: UUID
    version: Version
    category: CategoryCode
    kind: ItemKind
    title: Title
    description: Text = ""
    quantity: Quantity
    quantity_unit: Unit
    funds_fen: Fen = 0
    wanted_by: BusinessDate
    beneficiaries: Count  # a head count, never names
    visibility: Visibility
    published_at: UtcDatetime


class NeedWithdrawn(_AgreementsEvent):
    EVENT_TYPE: ClassVar[str] = "need.withdrawn"
    KEY_FIELD: ClassVar[str] = "need_id"

    need_id: UUID
    community_id: UUID
    version: Version
    reason: Reason
    withdrawn_at: UtcDatetime


class ResourceOffered(_AgreementsEvent):
    """A unit's offer on its resource list (re-offered with version + 1 when revised)."""

    EVENT_TYPE: ClassVar[str] = "resource.offered"
    KEY_FIELD: ClassVar[str] = "resource_id"

    resource_id: UUID
    unit_id: UUID
    version: Version
    category: CategoryCode
    kind: ItemKind
    title: Title
    description: Text = ""
    capacity: Quantity
    capacity_unit: Unit
    funds_fen: Fen = 0
    available_from: BusinessDate
    available_until: BusinessDate
    community_ids: list[UUID] = Field(default_factory=list)  # served; empty means any
    offered_at: UtcDatetime

    @field_validator("available_until")
    @classmethod
    def _until_after_from(cls, value: date, info: ValidationInfo) -> date:
        return _not_before(value, info, "available_from")


class ResourceWithdrawn(_AgreementsEvent):
    EVENT_TYPE: ClassVar[str] = "resource.withdrawn"
    KEY_FIELD: ClassVar[str] = "resource_id"

    resource_id: UUID
    unit_id: UUID
    version: Version
    reason: Reason
    withdrawn_at: UtcDatetime


class MatchSuggested(_AgreementsEvent):
    """A resource the matcher suggests for a need (keyed by the need)."""

    EVENT_TYPE: ClassVar[str] = "match.suggested"
    KEY_FIELD: ClassVar[str] = "need_id"

    need_id: UUID
    resource_id: UUID
    community_id: UUID
    unit_id: UUID
    rank: Rank
    score: Percent
    reasons: list[str] = Field(default_factory=list)
    suggested_at: UtcDatetime


# --- negotiation and agreements --------------------------------------------------------


class CommitmentItem(Contract):
    """One itemised commitment with the "four fixes" (四定): project, responsible, deadline,
    funds. Its id is minted in the draft and kept across versions (ARCHITECTURE.md, "Ids")."""

    commitment_id: UUID
    title: Title
    description: Text = ""
    kind: ItemKind
    category: CategoryCode
    obligor_party_id: UUID  # claims and reports
    beneficiary_party_id: UUID  # confirms
    responsible_title: str = Field(min_length=1, max_length=100)  # a position, not a name
    responsible_member_id: UUID | None = None
    deadline: BusinessDate
    funds_fen: Fen = 0
    quantity: Quantity = 1
    quantity_unit: Unit = "item"
    need_id: UUID | None = None

    @field_validator("beneficiary_party_id")
    @classmethod
    def _two_parties(cls, value: UUID, info: ValidationInfo) -> UUID:
        if value == info.data.get("obligor_party_id"):
            raise ValueError("must differ from obligor_party_id")
        return value


def _unique_items(items: Sequence[CommitmentItem]) -> None:
    seen: set[UUID] = set()
    for index, item in enumerate(items):
        if item.commitment_id in seen:
            raise ValueError(f"item {index}: duplicate commitment_id {item.commitment_id}")
        seen.add(item.commitment_id)


def _items_between(items: Sequence[CommitmentItem], info: ValidationInfo) -> None:
    parties = {info.data.get("community_id"), info.data.get("unit_id")}
    if None in parties:
        return  # a party id already failed; that error is the one to report
    for index, item in enumerate(items):
        for field in ("obligor_party_id", "beneficiary_party_id"):
            if getattr(item, field) not in parties:
                raise ValueError(f"item {index}: {field} is neither community_id nor unit_id")


class _Proposal(_AgreementsEvent):
    """A draft agreement put forward by one party (a sibling base, so that a counter is
    not an ``isinstance`` of a first proposal)."""

    KEY_FIELD: ClassVar[str] = "agreement_id"

    agreement_id: UUID
    version: Version
    proposed_by: UUID  # the proposing party's id
    community_id: UUID
    unit_id: UUID
    term_start: BusinessDate
    term_end: BusinessDate
    items: list[CommitmentItem] = Field(min_length=1)
    proposed_at: UtcDatetime

    @field_validator("term_end")
    @classmethod
    def _term_order(cls, value: date, info: ValidationInfo) -> date:
        return _not_before(value, info, "term_start")

    @field_validator("items")
    @classmethod
    def _items_ok(cls, value: list[CommitmentItem], info: ValidationInfo) -> list[CommitmentItem]:
        _unique_items(value)
        _items_between(value, info)
        return value


class ProposalMade(_Proposal):
    EVENT_TYPE: ClassVar[str] = "proposal.made"


class ProposalCountered(_Proposal):
    """A counter-proposal: a new version answering ``counters_version``."""

    EVENT_TYPE: ClassVar[str] = "proposal.countered"

    counters_version: Version

    @field_validator("counters_version")
    @classmethod
    def _answers_earlier(cls, value: int, info: ValidationInfo) -> int:
        version = info.data.get("version")
        if isinstance(version, int) and value >= version:
            raise ValueError("must be lower than version")
        return value


class AgreementSigned(_AgreementsEvent):
    """Both parties signed. Carries every commitment in full; downstream opens them."""

    EVENT_TYPE: ClassVar[str] = "agreement.signed"
    KEY_FIELD: ClassVar[str] = "agreement_id"

    agreement_id: UUID
    version: Version
    community_id: UUID
    unit_id: UUID
    street_id: UUID | None = None
    district_id: UUID | None = None
    term_start: BusinessDate
    term_end: BusinessDate
    origin: AgreementOrigin
    items: list[CommitmentItem] = Field(min_length=1)
    signed_at: UtcDatetime

    @field_validator("term_end")
    @classmethod
    def _term_order(cls, value: date, info: ValidationInfo) -> date:
        return _not_before(value, info, "term_start")

    @field_validator("items")
    @classmethod
    def _items_ok(cls, value: list[CommitmentItem], info: ValidationInfo) -> list[CommitmentItem]:
        _unique_items(value)
        _items_between(value, info)
        return value


class AgreementAmended(_AgreementsEvent):
    """An amendment: added items in full, cancelled ones by id (ARCHITECTURE.md, "Ids")."""

    EVENT_TYPE: ClassVar[str] = "agreement.amended"
    KEY_FIELD: ClassVar[str] = "agreement_id"

    agreement_id: UUID
    version: Version
    added_items: list[CommitmentItem] = Field(default_factory=list)
    cancelled_commitment_ids: list[UUID] = Field(default_factory=list, validate_default=True)
    reason: Reason
    amended_at: UtcDatetime

    @field_validator("added_items")
    @classmethod
    def _added_unique(cls, value: list[CommitmentItem]) -> list[CommitmentItem]:
        _unique_items(value)
        return value

    @field_validator("cancelled_commitment_ids")
    @classmethod
    def _changes_something(cls, value: list[UUID], info: ValidationInfo) -> list[UUID]:
        added = info.data.get("added_items")
        if added is None:
            return value  # added_items failed; report that instead
        if not added and not value:
            raise ValueError("an amendment adds or cancels at least one commitment")
        if {item.commitment_id for item in added} & set(value):
            raise ValueError("a commitment cannot be both added and cancelled")
        return value


class AgreementTerminated(_AgreementsEvent):
    EVENT_TYPE: ClassVar[str] = "agreement.terminated"
    KEY_FIELD: ClassVar[str] = "agreement_id"

    agreement_id: UUID
    version: Version
    reason: Reason
    terminated_at: UtcDatetime


class NeedClaimed(_AgreementsEvent):
    """A unit claimed a need directly; ``agreement.signed`` (origin=claim) follows and is
    the event downstream acts on (ARCHITECTURE.md, "Ids")."""

    EVENT_TYPE: ClassVar[str] = "need.claimed"
    KEY_FIELD: ClassVar[str] = "need_id"

    need_id: UUID
    community_id: UUID
    unit_id: UUID
    agreement_id: UUID
    claimed_at: UtcDatetime


__all__ = [
    "AgreementAmended",
    "AgreementSigned",
    "AgreementTerminated",
    "CommitmentItem",
    "MatchSuggested",
    "NeedClaimed",
    "NeedPublished",
    "NeedWithdrawn",
    "PartyRegistered",
    "PartyUpdated",
    "ProposalCountered",
    "ProposalMade",
    "ResourceOffered",
    "ResourceWithdrawn",
]
