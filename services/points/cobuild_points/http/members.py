"""Members: registration, bulk import, reporting (报到), transfer, leaving, own-data export."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from uuid import UUID

from cobuild_kit.service import ActorDep, RuntimeDep
from cobuild_kit.sheets import NumberedRow, RowError, read_rows
from fastapi import APIRouter, File, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from cobuild_points.domain.roster import (
    MAX_ROWS,
    REQUIRED,
    MemberDraft,
    check_phone,
    normalise_phone,
)
from cobuild_points.http.views import plain, profile
from cobuild_points.usecases import members

router = APIRouter(tags=["members"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemberIn(_Body):
    name: Annotated[str, Field(min_length=1, max_length=50)]
    phone: Annotated[str, Field(min_length=5, max_length=20)]
    unit_id: UUID
    community_id: UUID = Field(description="the community where the member lives")
    grid_id: UUID | None = None
    show_full_name: bool = False

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        phone = normalise_phone(value)
        if problem := check_phone(phone):
            raise ValueError(problem)
        return phone


class ReportIn(_Body):
    community_id: UUID | None = Field(None, description="defaults to the residence community")


class TransferIn(_Body):
    to_community_id: UUID
    grid_id: UUID | None = None


class ReasonIn(_Body):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class PreferencesIn(_Body):
    show_full_name: bool


@router.post("/members", status_code=201)
async def register(body: MemberIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """A unit admin registers its member, or the residence community's admin does."""
    return profile(await members.register(rt, actor, MemberDraft(**body.model_dump())))


def read_roster(content: bytes) -> list[NumberedRow]:
    """The numbered data rows of a CSV or XLSX roster (blocking: call it in a thread)."""
    return read_rows(content, required=REQUIRED, max_rows=MAX_ROWS, field="body.file")


@router.post("/members/import", status_code=201, response_model=None)
async def import_roster(
    actor: ActorDep, rt: RuntimeDep, file: Annotated[UploadFile, File()]
) -> dict[str, Any] | JSONResponse:
    """CSV or XLSX with columns name, phone, unit_id, community_id, grid_id. All rows or none:
    any bad row returns 422 with a report per row, and nothing is written."""
    members.require_registrar(actor)  # before parsing the file
    rows = await asyncio.to_thread(read_roster, await file.read())
    imported = await members.import_roster(rt, actor, rows)
    if imported.errors:
        return _report(imported.errors)
    ids = imported.member_ids
    return {"imported": len(ids), "member_ids": [str(i) for i in ids]}


def _report(errors: list[RowError]) -> JSONResponse:
    errors.sort(key=lambda e: (e.row, e.field))
    rows = sorted({e.row for e in errors})
    return JSONResponse(
        {
            "error": "invalid",
            "message": f"{len(rows)} row(s) have errors; nothing was imported",
            "field": "body.file",
            "rows": [e.as_dict() for e in errors],
        },
        status_code=422,
    )


@router.get("/members/{member_id}")
async def read(member_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    return profile(await members.read(rt, actor, member_id))


@router.get("/members/{member_id}/export")
async def export(member_id: UUID, actor: ActorDep, rt: RuntimeDep) -> JSONResponse:
    """Everything this service holds about the member, for the member alone."""
    data = await members.export(rt, actor, member_id)
    body = {
        "member": profile(data.member),
        "activities": [plain(r) for r in data.activities],
        "wishes": [plain(r) for r in data.wishes],
        "points_entries": [plain(r, drop=("prev_hash",)) for r in data.points_entries],
        "exported_at": data.exported_at,
    }
    return JSONResponse(
        jsonable_encoder(body),
        headers={"Content-Disposition": f'attachment; filename="member-{member_id}.json"'},
    )


@router.patch("/members/{member_id}/preferences")
async def preferences(
    member_id: UUID, body: PreferencesIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """`show_full_name`: opt in to the full name on the public honour roll."""
    return profile(await members.set_preferences(rt, actor, member_id, body.show_full_name))


@router.post("/members/{member_id}/report")
async def report(
    member_id: UUID, body: ReportIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """The member asks to report (报到) to a community; its admin accepts."""
    return profile(await members.request_report(rt, actor, member_id, body.community_id))


@router.post("/members/{member_id}/report/accept")
async def accept(member_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    return profile(await members.accept(rt, actor, member_id))


@router.post("/members/{member_id}/report/decline")
async def decline(
    member_id: UUID, body: ReasonIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    return profile(await members.decline(rt, actor, member_id, body.reason))


@router.post("/members/{member_id}/transfer")
async def transfer(
    member_id: UUID, body: TransferIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """Move a reported member to another community (they moved house); the member or the
    current community's admin does it."""
    row = await members.transfer(rt, actor, member_id, body.to_community_id, body.grid_id)
    return profile(row)


@router.post("/members/{member_id}/leave")
async def leave(member_id: UUID, body: ReasonIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """The member, their unit's admin or their community's admin ends the membership."""
    return profile(await members.leave(rt, actor, member_id, body.reason))


@router.get("/communities/{community_id}/members")
async def of_community(community_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """The members reported to the community, and those waiting for acceptance."""
    rows = await members.of_community(rt, actor, community_id)
    return {"community_id": community_id, "members": [profile(r) for r in rows]}
