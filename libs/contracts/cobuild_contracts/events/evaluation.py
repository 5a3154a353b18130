"""Events of the evaluation service, on ``evaluation.events.v1``.

Evaluation holds member ids only; names are joined in by the points service (ARCHITECTURE.md, "Personal data").
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import Field, ValidationInfo, field_validator

from .. import topics
from ..base import (
    BusinessDate,
    Code,
    Count,
    Decimal2,
    Event,
    Percent,
    Rank,
    Rate,
    Reason,
    Score,
    UtcDatetime,
    Year,
)
from ..enums import EvaluatorKind, Grade, SubjectKind
from .access import Subject


class _EvaluationEvent(Event):
    TOPIC: ClassVar[str] = topics.EVALUATION


class EvaluationSubmitted(_EvaluationEvent):
    """One evaluation of a subject. Residents give a 1..5 ``rating``; experts and
    communities give a 0..100 ``score``, never both."""

    EVENT_TYPE: ClassVar[str] = "evaluation.submitted"
    KEY_FIELD: ClassVar[str] = "subject_id"

    evaluation_id: UUID
    subject_kind: SubjectKind
    subject_id: UUID
    evaluator_kind: EvaluatorKind
    rating: int | None = Field(default=None, ge=1, le=5, validate_default=True)
    score: Score | None = Field(default=None, validate_default=True)
    # Per-criterion marks on the evaluator's scale, e.g. {"timeliness": 5}.
    criteria: dict[Annotated[str, Field(min_length=1, max_length=64)], Percent] = Field(
        default_factory=dict
    )
    comment: str = Field(default="", max_length=500)
    business_date: BusinessDate
    submitted_at: UtcDatetime

    @field_validator("rating")
    @classmethod
    def _rating_for_residents(cls, value: int | None, info: ValidationInfo) -> int | None:
        kind = info.data.get("evaluator_kind")
        if kind == EvaluatorKind.RESIDENT and value is None:
            raise ValueError("required when evaluator_kind is 'resident'")
        if kind is not None and kind != EvaluatorKind.RESIDENT and value is not None:
            raise ValueError("only residents give a rating; experts and communities a score")
        return value

    @field_validator("score")
    @classmethod
    def _score_for_others(cls, value: object, info: ValidationInfo) -> object:
        kind = info.data.get("evaluator_kind")
        if kind is not None and kind != EvaluatorKind.RESIDENT and value is None:
            raise ValueError(f"required when evaluator_kind is {str(kind)!r}")
        if kind == EvaluatorKind.RESIDENT and value is not None:
            raise ValueError("residents give a rating, not a score")
        return value


GradeCounts = dict[Grade, Count]
# Where a publication stands: shown for objections (公示中) or final. Added in v1 (issue 35).
PublicationState = Literal["publicised", "final"]
AssessedKind = Literal["member", "unit"]


class AssessmentCompleted(_EvaluationEvent):
    """A published year-end assessment (keyed by year, so re-runs stay in order).

    A rate is null when its denominator is zero (ARCHITECTURE.md, "Money, points and rates")."""

    EVENT_TYPE: ClassVar[str] = "assessment.completed"
    KEY_FIELD: ClassVar[str] = "year"

    assessment_id: UUID
    year: Year
    policy_version: Code
    member_count: Count
    unit_count: Count
    member_grades: GradeCounts
    unit_grades: GradeCounts
    member_excellent_rate: Rate | None
    unit_excellent_rate: Rate | None
    supersedes_assessment_id: UUID | None = None
    reason: Reason | None = None  # why a superseding assessment was run
    completed_at: UtcDatetime
    # The district whose year was assessed (an assessment is run for one district). Added in
    # v1, optional: events published before it carry no district.
    district_id: UUID | None = None
    # Issue 35 (v1, additive): a publication is first shown for objections (公示, "publicised")
    # until `objection_deadline`, then finalised. Absent on events from before: those were final.
    state: PublicationState | None = None
    objection_deadline: UtcDatetime | None = None
    # The share of 优秀 the run was capped at (ARCHITECTURE.md, "The 优秀 quota"); none: uncapped.
    excellent_quota: Rate | None = None

    @field_validator("member_grades")
    @classmethod
    def _members_add_up(cls, value: dict[Grade, int], info: ValidationInfo) -> dict[Grade, int]:
        return _adds_up(value, info, "member_count")

    @field_validator("unit_grades")
    @classmethod
    def _units_add_up(cls, value: dict[Grade, int], info: ValidationInfo) -> dict[Grade, int]:
        return _adds_up(value, info, "unit_count")


def _adds_up(value: dict[Grade, int], info: ValidationInfo, count_field: str) -> dict[Grade, int]:
    count = info.data.get(count_field)
    if isinstance(count, int) and sum(value.values()) != count:
        raise ValueError(f"grade counts must add up to {count_field} ({count})")
    return value


class MemberScored(_EvaluationEvent):
    """A member's year-end score and grade (names are joined in by the points service)."""

    EVENT_TYPE: ClassVar[str] = "member.scored"
    KEY_FIELD: ClassVar[str] = "member_id"

    assessment_id: UUID
    year: Year
    policy_version: Code
    member_id: UUID
    community_id: UUID
    unit_id: UUID
    score: Score
    grade: Grade
    components: dict[str, Decimal2] = Field(default_factory=dict)
    rank_in_community: Rank
    supersedes_assessment_id: UUID | None = None
    # Issue 35 (v1, additive): published for objections first, then again when final (same
    # assessment and scores). Absent on events from before the 公示 period existed.
    state: PublicationState | None = None


class UnitScored(_EvaluationEvent):
    EVENT_TYPE: ClassVar[str] = "unit.scored"
    KEY_FIELD: ClassVar[str] = "unit_id"

    assessment_id: UUID
    year: Year
    policy_version: Code
    unit_id: UUID
    score: Score
    grade: Grade
    components: dict[str, Decimal2] = Field(default_factory=dict)
    rank_in_district: Rank
    supersedes_assessment_id: UUID | None = None
    # Issue 35 (v1, additive): published for objections first, then again when final (same
    # assessment and scores). Absent on events from before the 公示 period existed.
    state: PublicationState | None = None


class ExpertRegistered(_EvaluationEvent):
    """An expert joined the evaluation service's expert directory. The access service grants
    the `expert` role for `expert_id` to `subject`, the expert's identity-provider subject,
    when it is known; the name and field of expertise stay in the directory."""

    EVENT_TYPE: ClassVar[str] = "expert.registered"
    KEY_FIELD: ClassVar[str] = "expert_id"

    expert_id: UUID
    subject: Subject | None = None
    registered_at: UtcDatetime


# What an expert is assigned to score (the evaluation service's expert_assignments).
AssignedKind = Literal["commitment", "agreement"]


class ExpertAssigned(_EvaluationEvent):
    """A district admin assigned an expert to score a commitment or an agreement against
    named criteria. Added in v1 (issue 36): the commitments service lets the expert read an
    assigned commitment and its evidence. Ids only; the criteria stay in evaluation. Keyed
    by subject, so the assignment comes before the expert's evaluation.submitted."""

    EVENT_TYPE: ClassVar[str] = "expert.assigned"
    KEY_FIELD: ClassVar[str] = "subject_id"

    assignment_id: UUID
    expert_id: UUID
    subject_kind: AssignedKind
    subject_id: UUID
    assigned_at: UtcDatetime


class _ObjectionEvent(_EvaluationEvent):
    """An objection to a publicised (公示中) score, by the member or the unit's admin. The
    reason and the attachments stay in the evaluation service; events carry ids only."""

    KEY_FIELD: ClassVar[str] = "subject_id"

    objection_id: UUID
    assessment_id: UUID
    district_id: UUID
    year: Year
    subject_kind: AssessedKind
    subject_id: UUID


class ObjectionFiled(_ObjectionEvent):
    EVENT_TYPE: ClassVar[str] = "objection.filed"

    filed_by: Subject
    attachments: Count = 0
    filed_at: UtcDatetime


class ObjectionUpheld(_ObjectionEvent):
    """The district admin upheld it: the corrected input re-ran the assessment as
    `corrected_assessment_id`; `regraded` subjects (grade changed, under a quota possibly
    others than the objector) got a new objection window until `objection_deadline`."""

    EVENT_TYPE: ClassVar[str] = "objection.upheld"

    decided_by: Subject
    decided_at: UtcDatetime
    corrected_assessment_id: UUID
    regraded: list[UUID] = Field(default_factory=list, max_length=100_000)
    objection_deadline: UtcDatetime


class ObjectionRejected(_ObjectionEvent):
    EVENT_TYPE: ClassVar[str] = "objection.rejected"

    decided_by: Subject
    decided_at: UtcDatetime


class AssessmentFinalised(_EvaluationEvent):
    """The objection period ended with no open objection: the publication's scores are
    final (member.scored and unit.scored follow again, with state final)."""

    EVENT_TYPE: ClassVar[str] = "assessment.finalised"
    KEY_FIELD: ClassVar[str] = "year"

    assessment_id: UUID
    district_id: UUID
    year: Year
    policy_version: Code
    finalised_by: Subject
    finalised_at: UtcDatetime


__all__ = [
    "AssessmentCompleted",
    "AssessmentFinalised",
    "AssignedKind",
    "EvaluationSubmitted",
    "ExpertAssigned",
    "ExpertRegistered",
    "MemberScored",
    "ObjectionFiled",
    "ObjectionRejected",
    "ObjectionUpheld",
    "UnitScored",
]
