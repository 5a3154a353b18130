"""What the agreements API answers: one model per answer, so the OpenAPI document says what
each operation returns. Money is integer fen, match scores integer percent (0..100), as the
contracts carry them; dates are ISO dates, timestamps UTC with their offset."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
from cobuild_contracts import (
    AgreementOrigin,
    CommitmentItem,
    ItemKind,
    NeedClaimed,
    NeedPublished,
    NeedWithdrawn,
    PartyKind,
    ResourceOffered,
    ResourceWithdrawn,
    UnitType,
    Visibility,
)
from cobuild_kit.api import Page
from pydantic import BaseModel, ConfigDict, Field

from cobuild_agreements.domain.directory import Party
from cobuild_agreements.domain.matching import Suggestion
from cobuild_agreements.domain.negotiation import AgreementState, SignOutcome
from cobuild_agreements.domain.privacy import FieldFinding, PersonalKind
from cobuild_agreements.usecases.agreements import AgreementView


def _of(row: asyncpg.Record, **extra: Any) -> dict[str, Any]:
    return {**dict(row), **extra}


# --- parties ---------------------------------------------------------------------------


class PartyOut(BaseModel):
    party_id: UUID
    kind: PartyKind
    name: str
    parent_id: UUID | None
    unit_type: UnitType | None
    code: str | None
    paired_community_ids: list[UUID]
    active: bool
    version: int

    @classmethod
    def of(cls, p: Party) -> PartyOut:
        return cls.model_validate(p.snapshot())


class PartyVersionOut(PartyOut):
    """One saved version of a party: its fields then, who saved it (the subject; null for
    versions saved before the history was kept) and when."""

    changed_by: str | None
    changed_at: datetime


class PartiesImported(BaseModel):
    imported: int
    parties: list[PartyOut]


# --- needs and resources ---------------------------------------------------------------


class SuggestionOut(BaseModel):
    need_id: UUID
    resource_id: UUID
    community_id: UUID
    unit_id: UUID
    score: int = Field(ge=0, le=100)
    reasons: list[str]

    @classmethod
    def of(cls, s: Suggestion) -> SuggestionOut:
        return cls(**{**s.__dict__, "reasons": list(s.reasons)})


class PersonalDataWarning(BaseModel):
    """Personal data typed into free text: kept as typed for the parties, shown masked on the
    public board and in the events other services read."""

    field: str = Field(description="where it was found, e.g. body.description")
    row: int | None = Field(default=None, description="the file's row, for an import")
    kind: PersonalKind = Field(description="mobile, landline or id_number")
    found: str = Field(description="what was found, masked as the public sees it")
    message: str

    @classmethod
    def of(cls, f: FieldFinding, row: int | None = None) -> PersonalDataWarning:
        return cls(field=f.field, row=row, kind=f.kind, found=f.masked, message=f.message)


def warnings_of(found: Iterable[FieldFinding]) -> list[PersonalDataWarning]:
    return [PersonalDataWarning.of(f) for f in found]


_WARNINGS = (
    "personal data (phone or ID numbers) found in the text: published masked; the stored text "
    "is as typed"
)


class NeedOut(BaseModel):
    need_id: UUID
    community_id: UUID
    version: int
    status: str = Field(description="published, withdrawn or claimed")
    category: str
    kind: ItemKind
    title: str
    description: str
    quantity: int
    quantity_unit: str
    funds_fen: int
    wanted_by: date
    beneficiaries: int
    visibility: Visibility
    published_at: datetime
    updated_at: datetime


class NeedPublishedOut(NeedOut):
    matches: list[SuggestionOut] = Field(description="the resources that suit it, best first")
    warnings: list[PersonalDataWarning] = Field(description=_WARNINGS)

    @classmethod
    def of(
        cls, row: asyncpg.Record, found: list[Suggestion], personal: Iterable[FieldFinding] = ()
    ) -> NeedPublishedOut:
        return cls.model_validate(
            _of(row, matches=[SuggestionOut.of(s) for s in found], warnings=warnings_of(personal))
        )


class NeedHistoryEntry(BaseModel):
    version: int
    event: str = Field(description="need.published, need.withdrawn or need.claimed")
    snapshot: NeedPublished | NeedWithdrawn | NeedClaimed = Field(
        description="the event as recorded: its text as typed (the published event had "
        "personal data masked)"
    )
    recorded_at: datetime


_NEED_EVENTS: dict[str, type[NeedPublished | NeedWithdrawn | NeedClaimed]] = {
    e.EVENT_TYPE: e for e in (NeedPublished, NeedWithdrawn, NeedClaimed)
}


class NeedDetail(NeedOut):
    history: list[NeedHistoryEntry]

    @classmethod
    def of(cls, row: asyncpg.Record, history: list[asyncpg.Record]) -> NeedDetail:
        entries = [
            NeedHistoryEntry(
                version=h["version"],
                event=h["event"],
                snapshot=_NEED_EVENTS[h["event"]].model_validate(h["snapshot"]),
                recorded_at=h["recorded_at"],
            )
            for h in history
        ]
        return cls.model_validate(_of(row, history=entries))


class ResourceOut(BaseModel):
    resource_id: UUID
    unit_id: UUID
    version: int
    status: str = Field(description="offered or withdrawn")
    category: str
    kind: ItemKind
    title: str
    description: str
    capacity: int
    capacity_unit: str
    funds_fen: int
    available_from: date
    available_until: date
    community_ids: list[UUID] = Field(description="the communities it serves; empty: any")
    offered_at: datetime
    updated_at: datetime


class ResourceOffer(ResourceOut):
    matches: list[SuggestionOut] = Field(description="the needs it suits, best first")
    warnings: list[PersonalDataWarning] = Field(description=_WARNINGS)

    @classmethod
    def of(
        cls, row: asyncpg.Record, found: list[Suggestion], personal: Iterable[FieldFinding] = ()
    ) -> ResourceOffer:
        return cls.model_validate(
            _of(row, matches=[SuggestionOut.of(s) for s in found], warnings=warnings_of(personal))
        )


class ResourceHistoryEntry(BaseModel):
    version: int
    event: str = Field(description="resource.offered or resource.withdrawn")
    snapshot: ResourceOffered | ResourceWithdrawn = Field(
        description="the event as recorded: its text as typed (the published event had "
        "personal data masked)"
    )
    recorded_at: datetime


_RESOURCE_EVENTS: dict[str, type[ResourceOffered | ResourceWithdrawn]] = {
    e.EVENT_TYPE: e for e in (ResourceOffered, ResourceWithdrawn)
}


class ResourceDetail(ResourceOut):
    history: list[ResourceHistoryEntry]

    @classmethod
    def of(cls, row: asyncpg.Record, history: list[asyncpg.Record]) -> ResourceDetail:
        entries = [
            ResourceHistoryEntry(
                version=h["version"],
                event=h["event"],
                snapshot=_RESOURCE_EVENTS[h["event"]].model_validate(h["snapshot"]),
                recorded_at=h["recorded_at"],
            )
            for h in history
        ]
        return cls.model_validate(_of(row, history=entries))


class _Match(BaseModel):
    rank: int = Field(ge=1, description="1 is the best")
    need_id: UUID
    resource_id: UUID
    score: int = Field(ge=0, le=100)
    reasons: list[str]
    suggested_at: datetime
    title: str
    category: str
    kind: ItemKind


M = TypeVar("M", bound=_Match)


class NeedMatch(_Match):
    """A resource suggested for the need."""

    unit_id: UUID
    capacity: int
    capacity_unit: str


class ResourceMatch(_Match):
    """A need suggested for the resource."""

    community_id: UUID
    quantity: int
    quantity_unit: str


def ranked(model: type[M], rows: list[asyncpg.Record], offset: int) -> list[M]:
    """Rows of a page of a ranking, numbered from the page's place in it."""
    return [model.model_validate(_of(r, rank=offset + n)) for n, r in enumerate(rows, start=1)]


class NeedsImported(BaseModel):
    imported: int
    need_ids: list[UUID]
    warnings: list[PersonalDataWarning] = Field(description=_WARNINGS + " (`field`: the column)")


class BulkNeedOut(BaseModel):
    index: int = Field(description="the item's place in the request, from 0")
    need_id: UUID
    version: int
    warnings: list[PersonalDataWarning] = Field(description=_WARNINGS)


class BulkNeedsOut(BaseModel):
    items: list[BulkNeedOut]


# --- agreements ------------------------------------------------------------------------


class AgreementSummary(BaseModel):
    agreement_id: UUID
    community_id: UUID
    unit_id: UUID
    street_id: UUID | None
    district_id: UUID | None
    origin: AgreementOrigin
    state: AgreementState
    version: int = Field(description="the latest draft")
    proposed_by: UUID = Field(description="the party that put the latest draft forward")
    signed_version: int | None = Field(description="the version in force")
    need_id: UUID | None
    created_at: datetime
    signed_at: datetime | None
    terminated_at: datetime | None
    termination_reason: str | None
    meeting_id: UUID | None = Field(default=None, description="origin meeting: the meeting")
    decision_id: UUID | None = Field(default=None, description="origin meeting: the decision")


class RoundOut(BaseModel):
    version: int
    round: str = Field(description="proposal, counter, amendment, claim or decision")
    proposed_by: UUID
    counters_version: int | None
    term_start: date
    term_end: date
    items: list[CommitmentItem]
    reason: str | None
    proposed_at: datetime


class SignatureOut(BaseModel):
    version: int
    party_id: UUID
    signed_by: str
    signed_at: datetime


class AgreementOut(AgreementSummary):
    awaiting: list[UUID] = Field(description="the parties whose signature is awaited")
    rounds: list[RoundOut]
    signatures: list[SignatureOut]
    commitments: list[CommitmentItem] = Field(description="the commitments in force")

    @classmethod
    def of(cls, v: AgreementView) -> AgreementOut:
        return cls.model_validate(
            _of(
                v.row,
                awaiting=sorted(v.negotiation.awaiting, key=str),
                rounds=[RoundOut.model_validate(r.__dict__) for r in v.rounds],
                signatures=[dict(s) for s in v.signatures],
                commitments=v.commitments,
            )
        )


class SignOut(BaseModel):
    outcome: SignOutcome
    agreement: AgreementOut


# --- publicity (no token: organisations, places, positions and figures only) ------------


class PublicNeed(BaseModel):
    model_config = ConfigDict(extra="ignore")

    need_id: UUID
    version: int
    category: str
    kind: ItemKind
    title: str
    description: str
    quantity: int
    quantity_unit: str
    funds_fen: int
    wanted_by: date
    beneficiaries: int
    published_at: datetime


class NeedsBoard(Page[PublicNeed]):
    community_id: UUID
    community_name: str


class PublicCommitment(BaseModel):
    """A commitment as the public sees it: responsible_member_id is personal and stays out."""

    model_config = ConfigDict(extra="ignore")

    commitment_id: UUID
    title: str
    description: str
    kind: ItemKind
    category: str
    obligor_party_id: UUID
    beneficiary_party_id: UUID
    responsible_title: str
    deadline: date
    funds_fen: int
    quantity: int
    quantity_unit: str
    need_id: UUID | None


class PublicAgreement(BaseModel):
    agreement_id: UUID
    unit_id: UUID
    unit_name: str
    origin: AgreementOrigin
    version: int | None = Field(description="the version in force")
    signed_at: datetime | None
    commitments: list[PublicCommitment]

    @classmethod
    def of(cls, row: asyncpg.Record, items: list[CommitmentItem]) -> PublicAgreement:
        return cls(
            agreement_id=row["agreement_id"],
            unit_id=row["unit_id"],
            unit_name=row["unit_name"],
            origin=row["origin"],
            version=row["signed_version"],
            signed_at=row["signed_at"],
            commitments=[PublicCommitment.model_validate(i.model_dump()) for i in items],
        )


class AgreementsBoard(Page[PublicAgreement]):
    community_id: UUID
    community_name: str


# --- reference data --------------------------------------------------------------------


class Labels(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    zh_CN: str = Field(alias="zh-CN")
    en: str


class Code(BaseModel):
    code: str
    labels: Labels


class ReferenceData(BaseModel):
    """Every code this service takes or answers with, labelled for people."""

    categories: list[Code] = Field(description="the categories this deployment accepts")
    need_kinds: list[Code]
    resource_kinds: list[Code]
    unit_types: list[Code]
    party_kinds: list[Code]
    roles: list[Code]
    visibility: list[Code]
