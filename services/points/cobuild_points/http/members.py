"""Members: registration, bulk import, reporting (报到), transfer, leaving, own-data export."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated
from uuid import UUID

from cobuild_kit.api import (
    AUTHENTICATED,
    ErrorBody,
    FieldError,
    Limit,
    Offset,
    Page,
    page_of,
    refusals,
)
from cobuild_kit.service import ActorDep
from cobuild_kit.sheets import NumberedRow, RowError, read_rows
from fastapi import APIRouter, File, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator
from pydantic.json_schema import SkipJsonSchema

from cobuild_points.domain.members import MemberStatus
from cobuild_points.domain.roster import (
    MAX_ROWS,
    MEMBERS_ONLY_MESSAGE,
    REQUIRED,
    MemberDraft,
    check_phone,
    normalise_phone,
)
from cobuild_points.http.views import EntryOut, HoursText, MemberOut, refused
from cobuild_points.settings import RuntimeDep
from cobuild_points.usecases import members
from cobuild_points.usecases.bulk import MAX_ITEMS, ItemsRefused

router = APIRouter(tags=["members"], responses=AUTHENTICATED)
BY_ID = refusals(404)
COMMAND = refusals(404, 409)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _MemberFields(_Body):
    name: Annotated[str, Field(min_length=1, max_length=50)]
    phone: Annotated[str, Field(min_length=5, max_length=20)]
    community_id: UUID = Field(description="the community where the member lives")
    grid_id: UUID | None = None
    # Refused, not ignored, so a client learns: 422 naming `body.show_full_name`. Left out
    # of the schema: an admin has nothing to send here.
    show_full_name: SkipJsonSchema[StrictBool | None] = Field(None, exclude=True)

    @field_validator("show_full_name")
    @classmethod
    def _members_only(cls, value: bool | None) -> bool | None:
        raise ValueError(MEMBERS_ONLY_MESSAGE)

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


class MemberIn(_MemberFields):
    unit_id: UUID

    def draft(self) -> MemberDraft:
        return MemberDraft(**self.model_dump())


class BulkMemberIn(_MemberFields):
    unit_id: UUID | None = Field(None, description="the path's unit; if given, it must be")

    def draft(self, unit_id: UUID) -> MemberDraft:
        return MemberDraft(**{**self.model_dump(), "unit_id": self.unit_id or unit_id})


class MembersIn(_Body):
    members: Annotated[list[BulkMemberIn], Field(min_length=1, max_length=MAX_ITEMS)]


class MemberIdsIn(_Body):
    member_ids: Annotated[list[UUID], Field(min_length=1, max_length=MAX_ITEMS)]


class DeclineManyIn(MemberIdsIn):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class ReportIn(_Body):
    community_id: UUID | None = Field(None, description="defaults to the residence community")
    unit_id: UUID | None = Field(
        None,
        description="the unit that registered the member: required when a signed-in person "
        "(a `person` token) reports as the member, who is not found unless it matches",
    )


class TransferIn(_Body):
    to_community_id: UUID
    grid_id: UUID | None = None


class ReasonIn(_Body):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class PreferencesIn(_Body):
    show_full_name: StrictBool  # a JSON true or false: 0 or "yes" is a 422 naming it


class Imported(BaseModel):
    imported: int
    member_ids: list[UUID]


class Registered(BaseModel):
    """Every item registered, in the request's order."""

    unit_id: UUID
    registered: int
    items: list[MemberOut]


class Decision(BaseModel):
    """One item of a bulk accept or decline: the member as it is now, and whether this
    request changed it (false: it was already so, e.g. a repeated accept)."""

    member_id: UUID
    status: str
    community_id: UUID | None
    reported_at: datetime | None
    changed: bool


class Decisions(BaseModel):
    community_id: UUID
    changed: int
    items: list[Decision]


class SignUpOfMember(BaseModel):
    activity_id: UUID
    title: str
    community_id: UUID
    starts_at: datetime
    ends_at: datetime
    signed_up_at: datetime
    checked_in_at: datetime | None
    hours: HoursText | None
    confirmed_at: datetime | None


class WishOfMember(BaseModel):
    wish_id: UUID
    community_id: UUID
    title: str
    status: str
    published_at: datetime
    claimed_at: datetime | None
    done_at: datetime | None
    fulfilled_at: datetime | None


class MemberExport(BaseModel):
    """Everything this service holds about the member."""

    member: MemberOut
    activities: list[SignUpOfMember]
    wishes: list[WishOfMember]
    points_entries: list[EntryOut]
    exported_at: datetime


class CommunityMembers(Page[MemberOut]):
    community_id: UUID


class UnitMemberOut(BaseModel):
    """A member as their unit's admin sees them: the name to pick them by, never the phone."""

    member_id: UUID
    name: str
    unit_id: UUID
    status: MemberStatus
    community_id: UUID | None
    requested_community_id: UUID | None
    registered_at: datetime
    reported_at: datetime | None


class UnitMembers(Page[UnitMemberOut]):
    unit_id: UUID


@router.post("/members", status_code=201, responses=refusals(409, 429))
async def register(body: MemberIn, actor: ActorDep, rt: RuntimeDep) -> MemberOut:
    """A unit admin registers its member, or the residence community's admin does. A phone
    already registered is a 409 naming `body.phone`, which says so only for a member the
    admin looks after; for anyone else it is one answer that names nobody, and too many of
    those are a 429 (API description, "Phones already registered"). `show_full_name` is
    refused (422): only the member opts in to the full name."""
    return MemberOut.of(await members.register(rt, actor, body.draft()))


@router.post(
    "/units/{unit_id}/members/bulk",
    status_code=201,
    responses=refusals(404, 409, 429),
    response_model=Registered,
)
async def register_many(
    unit_id: UUID, body: MembersIn, actor: ActorDep, rt: RuntimeDep
) -> Registered | JSONResponse:
    """Members of the unit, each with the fields of `POST /members` (`unit_id` may be left
    out), registered all or none: any failing item refuses the request (the status of the
    first, every failing item in `fields`) and nothing is written. A phone already
    registered is named by item with what the single registration says, nothing more."""
    drafts = [m.draft(unit_id) for m in body.members]
    try:
        rows = await members.register_many(rt, actor, unit_id, drafts)
    except ItemsRefused as exc:
        return refused(exc)
    return Registered(unit_id=unit_id, registered=len(rows), items=[MemberOut.of(r) for r in rows])


def read_roster(content: bytes) -> list[NumberedRow]:
    """The numbered data rows of a CSV or XLSX roster (blocking: call it in a thread)."""
    return read_rows(content, required=REQUIRED, max_rows=MAX_ROWS, field="body.file")


@router.post(
    "/members/import", status_code=201, responses=refusals(413, 429), response_model=Imported
)
async def import_roster(
    actor: ActorDep, rt: RuntimeDep, file: Annotated[UploadFile, File()]
) -> Imported | JSONResponse:
    """CSV or XLSX with columns name, phone, unit_id, community_id, grid_id. All rows or none:
    any bad row answers 422 with every row's error in `fields` (`body.file.row.3.phone`, and
    the same as `rows` of {row, field, message}), and nothing is written. A phone already
    registered is reported on its row as the single registration answers it; a
    `show_full_name` column with a value is refused on its row."""
    members.require_registrar(actor)  # before parsing the file
    rows = await asyncio.to_thread(read_roster, await file.read())
    imported = await members.import_roster(rt, actor, rows)
    if imported.errors:
        return _report(imported.errors)
    return Imported(imported=len(imported.member_ids), member_ids=imported.member_ids)


def _report(errors: list[RowError]) -> JSONResponse:
    errors.sort(key=lambda e: (e.row, e.field))
    rows = sorted({e.row for e in errors})
    body = ErrorBody(
        error="invalid",
        message=f"{len(rows)} row(s) have errors; nothing was imported",
        field="body.file",
        fields=[
            FieldError(field=f"body.file.row.{e.row}.{e.field}", message=e.message) for e in errors
        ],
    )
    return JSONResponse(
        {**body.model_dump(mode="json"), "rows": [e.as_dict() for e in errors]}, status_code=422
    )


@router.get("/members/{member_id}", responses=BY_ID)
async def read(member_id: UUID, actor: ActorDep, rt: RuntimeDep) -> MemberOut:
    """For the member and the community they serve. To anyone else (their unit's admin too,
    who sees point totals only) the member is not found (404), as an unknown id."""
    return MemberOut.of(await members.read(rt, actor, member_id))


@router.get("/members/{member_id}/export", responses=BY_ID)
async def export(
    member_id: UUID, actor: ActorDep, rt: RuntimeDep, response: Response
) -> MemberExport:
    """Everything this service holds about the member, for the member alone (to anyone else
    the member is not found), as a JSON download."""
    data = await members.export(rt, actor, member_id)
    response.headers["Content-Disposition"] = f'attachment; filename="member-{member_id}.json"'
    return MemberExport(
        member=MemberOut.of(data.member),
        activities=[SignUpOfMember.model_validate(dict(r)) for r in data.activities],
        wishes=[WishOfMember.model_validate(dict(r)) for r in data.wishes],
        points_entries=[EntryOut.of(r) for r in data.points_entries],
        exported_at=data.exported_at,
    )


@router.patch("/members/{member_id}/preferences", responses=COMMAND)
async def preferences(
    member_id: UUID, body: PreferencesIn, actor: ActorDep, rt: RuntimeDep
) -> MemberOut:
    """`show_full_name`: opt in to the full name on the public honour roll. The member's own
    command (their token only): no admin path sets it."""
    return MemberOut.of(await members.set_preferences(rt, actor, member_id, body.show_full_name))


@router.post("/members/{member_id}/report", responses=COMMAND)
async def report(member_id: UUID, body: ReportIn, actor: ActorDep, rt: RuntimeDep) -> MemberOut:
    """The member asks to report (报到) to a community; its admin accepts. A person signed
    in with no grant yet (a `person` token) may ask for themself, naming `unit_id`: their
    sign-in is then linked to the member (409 if it is linked to another member, or the
    member to another sign-in), and the accepted report's `member.reported` names it."""
    report = await members.request_report(rt, actor, member_id, body.community_id, body.unit_id)
    return MemberOut.of(report)


@router.post("/members/{member_id}/report/accept", responses=COMMAND)
async def accept(member_id: UUID, actor: ActorDep, rt: RuntimeDep) -> MemberOut:
    return MemberOut.of(await members.accept(rt, actor, member_id))


@router.post("/members/{member_id}/report/decline", responses=COMMAND)
async def decline(member_id: UUID, body: ReasonIn, actor: ActorDep, rt: RuntimeDep) -> MemberOut:
    """The community's admin declines a member asking to report to it, with a reason: emits
    `member.report_declined` (the reason's long numbers masked), and the member is told."""
    return MemberOut.of(await members.decline(rt, actor, member_id, body.reason))


def _decisions(community_id: UUID, done: list[members.ReportDecision]) -> Decisions:
    return Decisions(
        community_id=community_id,
        changed=sum(d.changed for d in done),
        items=[
            Decision(
                member_id=d.member["member_id"],
                status=d.member["status"],
                community_id=d.member["community_id"],
                reported_at=d.member["reported_at"],
                changed=d.changed,
            )
            for d in done
        ],
    )


@router.post(
    "/communities/{community_id}/reports/accept", responses=COMMAND, response_model=Decisions
)
async def accept_many(
    community_id: UUID, body: MemberIdsIn, actor: ActorDep, rt: RuntimeDep
) -> Decisions | JSONResponse:
    """The community's admin accepts members reporting to it, all or none: each emits
    `member.reported` as a single accept would. A member not asking this community is "not
    found" (404) by item; one in another state, 409 naming it; a member already reported
    here is left as is (`changed: false`), so a repeated request is harmless."""
    try:
        done = await members.accept_many(rt, actor, community_id, body.member_ids)
    except ItemsRefused as exc:
        return refused(exc)
    return _decisions(community_id, done)


@router.post(
    "/communities/{community_id}/reports/decline", responses=COMMAND, response_model=Decisions
)
async def decline_many(
    community_id: UUID, body: DeclineManyIn, actor: ActorDep, rt: RuntimeDep
) -> Decisions | JSONResponse:
    """The community's admin declines members asking to report to it, all or none, with one
    reason: each emits `member.report_declined` (the reason's long numbers masked), as a
    single decline does, and the member is told."""
    try:
        done = await members.decline_many(rt, actor, community_id, body.member_ids, body.reason)
    except ItemsRefused as exc:
        return refused(exc)
    return _decisions(community_id, done)


@router.post("/members/{member_id}/transfer", responses=COMMAND)
async def transfer(member_id: UUID, body: TransferIn, actor: ActorDep, rt: RuntimeDep) -> MemberOut:
    """Move a reported member to another community (they moved house); the member or the
    current community's admin does it. The target must be a community of the parties
    directory: anything else is a 422 naming `body.to_community_id`."""
    row = await members.transfer(rt, actor, member_id, body.to_community_id, body.grid_id)
    return MemberOut.of(row)


@router.post("/members/{member_id}/leave", responses=COMMAND)
async def leave(member_id: UUID, body: ReasonIn, actor: ActorDep, rt: RuntimeDep) -> MemberOut:
    """The member, their unit's admin or their community's admin ends the membership."""
    return MemberOut.of(await members.leave(rt, actor, member_id, body.reason))


@router.get("/communities/{community_id}/members", responses=BY_ID)
async def of_community(
    community_id: UUID, actor: ActorDep, rt: RuntimeDep, limit: Limit = 100, offset: Offset = 0
) -> CommunityMembers:
    """The members reported to the community, and those waiting for acceptance, by
    registration. For anyone but the community's admin the community is not found (404)."""
    found = await members.of_community(rt, actor, community_id, limit=limit, offset=offset)
    page = page_of(
        [MemberOut.of(r) for r in found.rows], limit=limit, offset=offset, total=found.total
    )
    return CommunityMembers(community_id=community_id, **dict(page))


@router.get("/units/{unit_id}/members", responses=BY_ID)
async def of_unit(
    unit_id: UUID, actor: ActorDep, rt: RuntimeDep, limit: Limit = 100, offset: Offset = 0
) -> UnitMembers:
    """The unit's members who have not left, by name, without phones: what its admin needs to
    assign them to the unit's tasks (only `reported` ones can be assigned). For anyone but
    the unit's admin the unit is not found (404)."""
    found = await members.of_unit(rt, actor, unit_id, limit=limit, offset=offset)
    page = page_of(
        [UnitMemberOut.model_validate(dict(r)) for r in found.rows],
        limit=limit,
        offset=offset,
        total=found.total,
    )
    return UnitMembers(unit_id=unit_id, **dict(page))
