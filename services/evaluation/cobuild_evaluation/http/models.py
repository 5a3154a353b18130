"""The evaluation service's answers, one model per shape (the structure issue's "The API as a
product"). Money is integer fen; rates are decimal strings with four places (`"0.9000"`),
scores with two (`"87.50"`); a rate with a zero denominator is null (ARCHITECTURE.md,
"Money, points and rates")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from cobuild_kit.api import Page
from pydantic import BaseModel, ConfigDict, Field

Rate = Annotated[
    str,
    Field(pattern=r"^\d\.\d{4}$", description="a rate, 4 places", examples=["0.9000"]),
]
Score = Annotated[
    str, Field(pattern=r"^\d+\.\d{2}$", description="a score, 2 places", examples=["87.50"])
]
Fen = Annotated[int, Field(description="money in fen (1 yuan = 100 fen)")]
SubjectKindName = Literal["member", "unit"]


# --- the fulfilment ledger ----------------------------------------------------------------


class Figures(BaseModel):
    """A scope's counts and fen as of the end of a business date, and the rates they give."""

    signed: int
    signed_fen: Fen
    cancelled: int
    cancelled_fen: Fen
    fulfilled: int
    fulfilled_fen: Fen
    due: int = Field(description="commitments whose deadline has passed")
    due_fen: Fen
    on_time: int
    on_time_fen: Fen
    overdue: int
    overdue_fen: Fen
    flagged_overdue: int = Field(description="ever flagged overdue (a one-time flag)")
    fulfilment_rate: Rate | None = Field(description="fulfilled / (signed - cancelled)")
    fulfilment_rate_fen: Rate | None = Field(description="the same by value (fen)")
    on_time_rate: Rate | None = Field(description="on time / due")
    on_time_rate_fen: Rate | None = Field(description="the same by value (fen)")


class LedgerChild(BaseModel):
    id: UUID
    name: str | None
    figures: Figures


class LedgerView(BaseModel):
    """A scope's figures with one page of its drill-down (the scope one level below)."""

    scope: str
    id: UUID
    name: str | None
    as_of: date
    origin: str | None = Field(
        default=None, description="the agreement origin counted, when the query named one"
    )
    figures: Figures
    child_scope: str | None = Field(default=None, description="null for a commitment")
    children: list[LedgerChild]
    children_total: int | None = Field(default=None, description="children in all")
    children_next_offset: int | None = Field(
        default=None, description="children_offset of the next page; null on the last"
    )


class Rebuilt(BaseModel):
    journal_entries: int
    commitments: int
    rows: int = Field(description="aggregate rows written")


# --- evaluations --------------------------------------------------------------------------


class Codes(BaseModel):
    commitment_id: UUID
    codes: list[str] = Field(description="one-time codes, shown once (only hashes are kept)")
    expires_at: datetime


class ResidentEvaluated(BaseModel):
    evaluation_id: UUID
    commitment_id: UUID


class Expert(BaseModel):
    expert_id: UUID
    name: str
    field: str


class Assigned(BaseModel):
    assignment_id: UUID
    expert_id: UUID
    subject_kind: Literal["commitment", "agreement"]
    subject_id: UUID
    criteria: list[str]


class Assignment(Assigned):
    assigned_at: datetime
    evaluated_at: datetime | None = Field(description="null until the expert has evaluated")


class ExpertEvaluated(BaseModel):
    evaluation_id: UUID
    score: Score = Field(description="the mean of the criteria marks")


class Evaluated(BaseModel):
    evaluation_id: UUID


class Aggregate(BaseModel):
    count: int
    mean: Score | None = Field(description="null without evaluations")
    distribution: dict[str, int] = Field(
        description="count per bucket: a resident's rating 1..5, or a score band (00-09 … 90-100)"
    )


class Aggregates(BaseModel):
    subject_kind: str
    subject_id: UUID
    resident: Aggregate
    expert: Aggregate
    community: Aggregate
    flagged: int = Field(
        description="evaluations kept but left out of the aggregates: resident codes redeemed "
        "by the party that issued them (its client address or its token)"
    )


# --- the assessment -----------------------------------------------------------------------


class Totals(BaseModel):
    """The run's counts. A run capped by a quota also carries `excellent_quota` (its share,
    4 places); an uncapped run's totals have no such key, so they read as before quotas."""

    model_config = ConfigDict(extra="allow")

    member_count: int
    unit_count: int
    member_grades: dict[str, int] = Field(description="members per grade (excellent … fail)")
    unit_grades: dict[str, int] = Field(description="units per grade (excellent … fail)")
    member_excellent_rate: Rate | None
    unit_excellent_rate: Rate | None


PublicationState = Literal["publicised", "final"]


class Result(BaseModel):
    subject_id: UUID
    community_id: UUID | None
    street_id: UUID | None
    unit_id: UUID | None
    score: Score
    grade: str
    components: dict[str, Score] = Field(
        description="the scored inputs, each 0..100: points and community_rating for a member; "
        "fulfilment_rate, on_time_rate, resident_mean, expert_mean, member_pass_share for a unit"
    )
    ranks: dict[str, int] = Field(
        description="rank within community, street and district (a unit: district only)"
    )


class Outcome(BaseModel):
    """A preview: the canonical outcome a publish would store (keys sorted), with its
    digest. Members and units in full: it is one district's dry run, streamed."""

    members: list[Result]
    policy_version: str
    totals: Totals
    units: list[Result]
    year: int
    digest: str = Field(description="sha256 of the canonical outcome (without this key)")


class Published(Totals):
    assessment_id: UUID
    digest: str
    supersedes_assessment_id: UUID | None


class Results(Page[Result]):
    """A page of the published (current) assessment's results of one kind of subject."""

    assessment_id: UUID
    year: int
    policy_version: str
    digest: str
    supersedes_assessment_id: UUID | None
    reason: str | None
    totals: Totals
    subject: SubjectKindName
    state: PublicationState = Field(
        description="publicised: shown for objections (公示中) until objection_deadline; final"
    )
    objection_deadline: datetime | None
    excellent_quota: Rate | None


class Ranked(Result):
    rank: int


class Ranking(Page[Ranked]):
    """A page of a ranking, in rank order (ties share a rank and are listed by id)."""

    assessment_id: UUID
    scope: Literal["district", "street", "community"]
    id: UUID
    subject: SubjectKindName


# --- the 公示 period ------------------------------------------------------------------------


class ObjectionOut(BaseModel):
    objection_id: UUID
    assessment_id: UUID
    district_id: UUID
    year: int
    subject_kind: SubjectKindName
    subject_id: UUID
    filed_by: str
    filed_role: str
    reason: str
    filed_at: datetime
    state: Literal["open", "upheld", "rejected"]
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    corrections: dict[str, str] | None
    corrected_assessment_id: UUID | None
    files: int = Field(description="how many attachments")


class Regraded(BaseModel):
    subject_kind: SubjectKindName
    subject_id: UUID
    grade_before: str | None
    grade_after: str | None


class Upheld(ObjectionOut):
    regraded: list[Regraded] = Field(description="every subject whose grade the re-run changed")
    objection_deadline: datetime = Field(description="the new window of those regraded")


class OwnScore(BaseModel):
    """A member's own score, or a unit admin's unit's, and where its publication stands."""

    year: int
    district_id: UUID
    assessment_id: UUID
    policy_version: str
    state: PublicationState
    objection_deadline: datetime | None = Field(description="until when it may be objected to")
    may_object: bool
    subject_kind: SubjectKindName
    result: Result
    objections: list[ObjectionOut]


class Window(BaseModel):
    subject_kind: SubjectKindName
    subject_id: UUID
    deadline: datetime


class Objections(BaseModel):
    year: int
    district_id: UUID
    state: PublicationState | None
    assessment_id: UUID | None
    objection_deadline: datetime | None
    period_end: datetime | None = Field(description="the last window's end")
    windows: list[Window]
    objections: list[ObjectionOut]


class Finalised(BaseModel):
    assessment_id: UUID
    year: int
    state: Literal["final"]
    finalised_at: datetime
    member_count: int
    unit_count: int


class AuditRegraded(BaseModel):
    subject_kind: SubjectKindName
    subject_id: UUID
    before: str | None
    after: str | None


class AuditDetail(BaseModel):
    """What an entry records; each action fills its own fields."""

    policy_version: str | None = None
    excellent_quota: str | None = None
    supersedes: UUID | None = None
    upholds: UUID | None = None
    digest: str | None = None
    objection_deadline: datetime | None = None
    objection_id: UUID | None = None
    subject_kind: SubjectKindName | None = None
    subject_id: UUID | None = None
    reason: str | None = None
    corrections: dict[str, str] | None = None
    regraded: list[AuditRegraded] | None = None
    window: datetime | None = None
    period_end: datetime | None = None


class AuditEntry(BaseModel):
    assessment_id: UUID | None
    action: Literal[
        "publicised",
        "republicised",
        "objection_filed",
        "objection_upheld",
        "objection_rejected",
        "finalised",
    ]
    actor: str
    at: datetime
    detail: AuditDetail
