"""Members: registration, bulk import, reporting (报到), transfer, leaving, own-data export."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from uuid import UUID, uuid4

from cobuild_contracts import Role
from cobuild_contracts.events.points import MemberLeft, MemberReported, MemberTransferred
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Conflict, Forbidden, Invalid
from cobuild_kit.logging import get_logger
from cobuild_kit.parties import authorize
from cobuild_kit.service import ActorDep, RuntimeDep
from cobuild_kit.sheets import NumberedRow, RowError, read_rows
from fastapi import APIRouter, File, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from cobuild_points.domain import members as lifecycle
from cobuild_points.domain.roster import (
    MAX_ROWS,
    REQUIRED,
    MemberDraft,
    check_phone,
    normalise_phone,
    parse_roster,
)
from cobuild_points.http.access import (
    COMMUNITY,
    View,
    is_self,
    member_view,
    plain,
    require_self,
    serving_community,
)
from cobuild_points.store import activities, members, wishes

log = get_logger(__name__)
router = APIRouter(tags=["members"])
PROFILE = (
    "member_id",
    "name",
    "phone",
    "unit_id",
    "residence_community_id",
    "grid_id",
    "status",
    "requested_community_id",
    "community_id",
    "show_full_name",
    "registered_at",
    "reported_at",
    "left_at",
)


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


def profile(row: Any) -> dict[str, Any]:
    return plain({k: row[k] for k in PROFILE})


def may_register(actor: Actor, unit_id: UUID, community_id: UUID) -> bool:
    return (actor.role is Role.UNIT_ADMIN and actor.party_id == unit_id) or (
        actor.role is Role.COMMUNITY_ADMIN and actor.party_id == community_id
    )


@router.post("/members", status_code=201)
async def register(body: MemberIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """A unit admin registers its member, or the residence community's admin does."""
    if not may_register(actor, body.unit_id, body.community_id):
        raise Forbidden(
            f"{actor.role.value} of {actor.party_id} may not register members of unit "
            f"{body.unit_id} living in community {body.community_id}"
        )
    member_id = uuid4()
    draft = MemberDraft(**body.model_dump())
    async with rt.unit_of_work() as uow:
        await members.insert(uow.conn, member_id, draft, actor.subject, rt.clock.now())
        row = await members.get(uow.conn, member_id)
    log.info("member.registered", member_id=str(member_id), unit_id=str(body.unit_id))
    return profile(row)


def read_roster(content: bytes) -> list[NumberedRow]:
    """The numbered data rows of a CSV or XLSX roster (blocking: call it in a thread)."""
    return read_rows(content, required=REQUIRED, max_rows=MAX_ROWS, field="body.file")


@router.post("/members/import", status_code=201, response_model=None)
async def import_roster(
    actor: ActorDep, rt: RuntimeDep, file: Annotated[UploadFile, File()]
) -> dict[str, Any] | JSONResponse:
    """CSV or XLSX with columns name, phone, unit_id, community_id, grid_id. All rows or none:
    any bad row returns 422 with a report per row, and nothing is written."""
    if actor.role not in (Role.UNIT_ADMIN, Role.COMMUNITY_ADMIN):  # before parsing the file
        raise Forbidden(f"{actor.role.value} may not register members")
    content = await file.read()
    rows = await asyncio.to_thread(read_roster, content)
    numbered, errors = parse_roster(rows)
    errors += [
        RowError(row, "unit_id", "you may not register members of this unit")
        for row, draft in numbered
        if not may_register(actor, draft.unit_id, draft.community_id)
    ]
    drafts = [draft for _, draft in numbered]
    async with rt.unit_of_work() as uow:
        taken = await members.existing_phones(uow.conn, [d.phone for d in drafts])
        errors += [
            RowError(row, "phone", "is already registered")
            for row, d in numbered
            if d.phone in taken
        ]
        if errors or not drafts:
            return _report(errors or [RowError(2, "file", "no data rows")])
        now = rt.clock.now()
        ids = [uuid4() for _ in drafts]
        for member_id, draft in zip(ids, drafts, strict=True):
            await members.insert(uow.conn, member_id, draft, actor.subject, now)
    log.info("members.imported", count=len(ids), actor=actor.subject)
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
    async with rt.pool.acquire() as conn:
        row = await members.get(conn, member_id)
    if member_view(actor, row) is not View.FULL:
        raise Forbidden("a unit admin sees its members' point totals only")
    return profile(row)


@router.get("/members/{member_id}/export")
async def export(member_id: UUID, actor: ActorDep, rt: RuntimeDep) -> JSONResponse:
    """Everything this service holds about the member, for the member alone."""
    require_self(actor, member_id, "export their data")
    async with rt.pool.acquire() as conn:
        row = await members.get(conn, member_id)
        data = {
            "member": profile(row),
            "activities": [plain(r) for r in await activities.of_member(conn, member_id)],
            "wishes": [plain(r) for r in await wishes.of_member(conn, member_id)],
            "points_entries": [
                plain(r, drop=("prev_hash",))
                for r in await conn.fetch(
                    "SELECT * FROM points_entry WHERE member_id = $1 ORDER BY year, seq", member_id
                )
            ],
            "exported_at": rt.clock.now(),
        }
    return JSONResponse(
        jsonable_encoder(data),
        headers={"Content-Disposition": f'attachment; filename="member-{member_id}.json"'},
    )


@router.patch("/members/{member_id}/preferences")
async def preferences(
    member_id: UUID, body: PreferencesIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """`show_full_name`: opt in to the full name on the public honour roll."""
    require_self(actor, member_id, "change their preferences")
    async with rt.unit_of_work() as uow:
        await members.get(uow.conn, member_id, lock=True)
        await members.set_show_full_name(uow.conn, member_id, body.show_full_name)
        return profile(await members.get(uow.conn, member_id))


@router.post("/members/{member_id}/report")
async def report(
    member_id: UUID, body: ReportIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """The member asks to report (报到) to a community; its admin accepts."""
    require_self(actor, member_id, "report to a community")
    async with rt.unit_of_work() as uow:
        row = await members.get(uow.conn, member_id, lock=True)
        lifecycle.require("report", row["status"])
        community_id = body.community_id or row["residence_community_id"]
        await members.request_report(uow.conn, member_id, community_id)
        return profile(await members.get(uow.conn, member_id))


@router.post("/members/{member_id}/report/accept")
async def accept(member_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    async with rt.unit_of_work() as uow:
        row = await members.get(uow.conn, member_id, lock=True)
        await authorize(  # before the state check: a stranger learns nothing of the member
            uow.conn,
            actor,
            serving_community(row),
            roles=COMMUNITY,
            action="accept members reporting to this community",
        )
        lifecycle.require("accept", row["status"])
        now = rt.clock.now()
        row = await members.accept_report(uow.conn, member_id, now)
        await uow.emit(
            MemberReported(
                member_id=member_id,
                unit_id=row["unit_id"],
                community_id=row["community_id"],
                grid_id=row["grid_id"],
                reported_at=now,
            )
        )
    return profile(row)


@router.post("/members/{member_id}/report/decline")
async def decline(
    member_id: UUID, body: ReasonIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    async with rt.unit_of_work() as uow:
        row = await members.get(uow.conn, member_id, lock=True)
        await authorize(  # before the state check: a stranger learns nothing of the member
            uow.conn,
            actor,
            serving_community(row),
            roles=COMMUNITY,
            action="decline members reporting to this community",
        )
        lifecycle.require("decline", row["status"])
        await members.decline_report(uow.conn, member_id)
        log.info("member.report_declined", member_id=str(member_id), reason=body.reason)
        return profile(await members.get(uow.conn, member_id))


@router.post("/members/{member_id}/transfer")
async def transfer(
    member_id: UUID, body: TransferIn, actor: ActorDep, rt: RuntimeDep
) -> dict[str, Any]:
    """Move a reported member to another community (they moved house); the member or the
    current community's admin does it."""
    async with rt.unit_of_work() as uow:
        row = await members.get(uow.conn, member_id, lock=True)
        if not is_self(actor, member_id):
            await authorize(
                uow.conn,
                actor,
                serving_community(row),
                roles=COMMUNITY,
                action="transfer this community's members",
            )
        lifecycle.require("transfer", row["status"])
        if body.to_community_id == row["community_id"]:
            raise Invalid("is the member's current community", field="body.to_community_id")
        now = rt.clock.now()
        await members.transfer(uow.conn, member_id, body.to_community_id, body.grid_id, now)
        await uow.emit(
            MemberTransferred(
                member_id=member_id,
                unit_id=row["unit_id"],
                from_community_id=row["community_id"],
                to_community_id=body.to_community_id,
                transferred_at=now,
            )
        )
        return profile(await members.get(uow.conn, member_id))


@router.post("/members/{member_id}/leave")
async def leave(member_id: UUID, body: ReasonIn, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """The member, their unit's admin or their community's admin ends the membership."""
    async with rt.unit_of_work() as uow:
        row = await members.get(uow.conn, member_id, lock=True)
        community = serving_community(row)
        allowed = (
            is_self(actor, member_id)
            or (actor.role is Role.UNIT_ADMIN and actor.party_id == row["unit_id"])
            or (actor.role is Role.COMMUNITY_ADMIN and actor.party_id == community)
        )
        if not allowed:
            raise Forbidden(f"{actor.role.value} of {actor.party_id} may not end this membership")
        if row["status"] == "left":
            raise Conflict("the member has already left")
        now = rt.clock.now()
        await members.leave(uow.conn, member_id, body.reason, now)
        await uow.emit(MemberLeft(member_id=member_id, reason=body.reason, left_at=now))
        return profile(await members.get(uow.conn, member_id))


@router.get("/communities/{community_id}/members")
async def of_community(community_id: UUID, actor: ActorDep, rt: RuntimeDep) -> dict[str, Any]:
    """The members reported to the community, and those waiting for acceptance."""
    async with rt.pool.acquire() as conn:
        await authorize(conn, actor, community_id, roles=COMMUNITY, action="list its members")
        rows = await members.of_community(conn, community_id)
    return {"community_id": community_id, "members": [profile(r) for r in rows]}
