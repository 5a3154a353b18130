"""How rows leave over HTTP: the answer models the routers share (a member's profile, a
ledger entry), decimals as strings with fixed places (points never travel as floats), and the
per-item refusal of a bulk command."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from cobuild_kit.api import ErrorBody, FieldError
from cobuild_kit.http import http_status
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, PlainSerializer, WithJsonSchema

from cobuild_points.domain.members import MemberStatus
from cobuild_points.usecases.bulk import ItemsRefused

_CENT = Decimal("0.01")


def _two_places(value: Decimal) -> Decimal:
    return value.quantize(_CENT)


def _text(value: Decimal) -> str:
    return format(value, "f")


def _fixed(description: str, pattern: str) -> tuple[Any, ...]:
    return (
        AfterValidator(_two_places),
        PlainSerializer(_text, return_type=str, when_used="json"),
        WithJsonSchema({"type": "string", "pattern": pattern, "description": description}),
    )


# Answers only: a sum over a community may exceed any one entry's bound, so no range here.
PointsText = Annotated[Decimal, *_fixed("points, decimal string, 2 places", r"^-?\d+\.\d{2}$")]
HoursText = Annotated[Decimal, *_fixed("hours, decimal string, 2 places", r"^\d+\.\d{2}$")]
ScoreText = Annotated[Decimal, *_fixed("score 0..100, decimal string, 2 places", r"^\d+\.\d{2}$")]


class MemberOut(BaseModel):
    """A member's profile: only the member and the community they serve (or are asking to
    serve) see it, since it holds the name and phone."""

    member_id: UUID
    name: str
    phone: str
    unit_id: UUID
    residence_community_id: UUID
    grid_id: UUID | None
    status: MemberStatus
    requested_community_id: UUID | None
    community_id: UUID | None
    show_full_name: bool
    registered_at: datetime
    reported_at: datetime | None
    left_at: datetime | None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> MemberOut:
        return cls.model_validate(dict(row))


class EntryOut(BaseModel):
    """One entry of the points journal: an award, or a reversal (negative points)."""

    entry_id: UUID
    member_id: UUID
    year: int
    seq: int
    kind: str
    points: PointsText
    reason: str
    cause_event_id: UUID
    rule_code: str
    rule_set_version: str
    category: str
    source_id: UUID | None
    community_id: UUID
    unit_id: UUID
    business_date: date
    capped: bool
    cap_reason: str | None
    reverses_entry_id: UUID | None
    recorded_at: datetime
    hash: str

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> EntryOut:
        return cls.model_validate(dict(row))


def refused(exc: ItemsRefused) -> JSONResponse:
    """A bulk command refused whole: the status of the first failing item, and every failing
    item in `fields` (`body.member_ids.3`), so the caller fixes them all in one go."""
    body = ErrorBody(
        error=exc.code,
        message=exc.message,
        field=exc.field,
        fields=[FieldError(field=f.field, message=f.message) for f in exc.items],
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=http_status(exc.first))
