"""The 公示 period (issue 35): one's own score, objections with attachments, their decision,
finalisation and the audit trail."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from cobuild_kit.api import AUTHENTICATED, DEFAULT_PAGE, Limit, Offset, Page, page_of, refusals
from cobuild_kit.service import ActorDep
from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from cobuild_evaluation.domain.publication import download_name
from cobuild_evaluation.http.models import (
    AuditEntry,
    Finalised,
    ObjectionOut,
    Objections,
    OwnScore,
    Upheld,
)
from cobuild_evaluation.http.params import YearPath
from cobuild_evaluation.settings import RuntimeDep
from cobuild_evaluation.usecases import publication

router = APIRouter(tags=["assessment"], responses=AUTHENTICATED)
_FILE: dict[str, Any] = {"schema": {"type": "string", "format": "binary"}}


class DecisionIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


# Each corrected value's own range is checked by `domain.publication.corrections`.
CorrectedValue = Annotated[Decimal, Field(ge=0, le=100_000)]


class UpholdIn(DecisionIn):
    corrections: dict[str, CorrectedValue] = Field(
        max_length=6,
        description="the corrected inputs: points and/or community_rating (a member); "
        "fulfilment_rate, on_time_rate (0..1), resident_mean (1..5), expert_mean (a unit)",
    )


class FinaliseIn(BaseModel):
    district_id: UUID


@router.get("/assessments/{year}/own", responses=refusals(404))
async def own(year: YearPath, actor: ActorDep, rt: RuntimeDep) -> OwnScore:
    """A member's own current score of the year, or a unit admin's unit's: its grade and
    components, whether it is 公示中 or final, until when it may be objected to, and the
    objections filed against it."""
    return OwnScore.model_validate(await publication.own(rt, actor, year))


@router.post("/assessments/{year}/objections", status_code=201, responses=refusals(404, 409, 413))
async def file_objection(
    year: YearPath,
    reason: Annotated[str, Form(max_length=4000)],
    actor: ActorDep,
    rt: RuntimeDep,
    files: Annotated[list[UploadFile] | None, File(description="up to 5 images or PDFs")] = None,
) -> ObjectionOut:
    """A member objects to their own publicised score, a unit admin to the unit's, with a
    reason and attachments, within the objection window (409 after it, when final, or while
    an objection of theirs is open)."""
    uploads = [(f.file, f.filename) for f in files or [] if f.filename or f.size]
    return ObjectionOut.model_validate(
        await publication.file_objection(rt, actor, year, reason, uploads)
    )


@router.get("/assessments/{year}/objections", responses=refusals(404))
async def objections(
    year: YearPath, district_id: Annotated[UUID, Query()], actor: ActorDep, rt: RuntimeDep
) -> Objections:
    """The district-year's objections, newest first, and the publication's windows."""
    return Objections.model_validate(await publication.objections(rt, actor, district_id, year))


@router.post("/objections/{objection_id}/uphold", responses=refusals(404, 409))
async def uphold(objection_id: UUID, body: UpholdIn, actor: ActorDep, rt: RuntimeDep) -> Upheld:
    """The district admin upholds: the corrected inputs re-run the year under the same policy
    and quota (a re-publication, audited); every subject whose grade changed gets a new
    objection window."""
    raw = {k: format(v, "f") for k, v in body.corrections.items()}
    return Upheld.model_validate(
        await publication.uphold(rt, actor, objection_id, body.reason, raw)
    )


@router.post("/objections/{objection_id}/reject", responses=refusals(404, 409))
async def reject(
    objection_id: UUID, body: DecisionIn, actor: ActorDep, rt: RuntimeDep
) -> ObjectionOut:
    """The district admin rejects, with a reason."""
    return ObjectionOut.model_validate(
        await publication.reject(rt, actor, objection_id, body.reason)
    )


@router.get(
    "/objections/{objection_id}/files/{file_id}",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": _FILE}}, **refusals(404)},
)
async def attachment(
    objection_id: UUID, file_id: UUID, actor: ActorDep, rt: RuntimeDep
) -> FileResponse:
    """An attachment, for the objector and the district's admins."""
    f, path = await publication.attachment(rt, actor, objection_id, file_id)
    return FileResponse(
        path,
        media_type=f["content_type"],
        filename=download_name(f["filename"], f["content_type"]),
        headers={"X-Content-Type-Options": "nosniff"},
    )


@router.post("/assessments/{year}/finalise", responses=refusals(404, 409))
async def finalise(year: YearPath, body: FinaliseIn, actor: ActorDep, rt: RuntimeDep) -> Finalised:
    """After the last objection window (business time), with no open objection, the
    publication becomes final: member.scored and unit.scored again with state final, then
    assessment.finalised (409 before, or while an objection is open)."""
    return Finalised.model_validate(await publication.finalise(rt, actor, body.district_id, year))


@router.get("/assessments/{year}/audit", responses=refusals(404))
async def audit(
    year: YearPath,
    district_id: Annotated[UUID, Query()],
    actor: ActorDep,
    rt: RuntimeDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> Page[AuditEntry]:
    """The district-year's audit trail, oldest first: publications, re-runs, objections,
    decisions and the finalisation, with who and when."""
    rows = await publication.audit_trail(rt, actor, district_id, year)
    return page_of(
        [AuditEntry.model_validate(r) for r in rows[offset : offset + limit]],
        limit=limit,
        offset=offset,
        total=len(rows),
    )
