"""Members: registration, bulk import, reporting (报到), transfer, leaving, own-data export.

Each command runs in one unit of work: load the member under lock, authorise, ask the domain
whether the step is allowed, save, and emit its event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from uuid import UUID, uuid4

import asyncpg
from cobuild_contracts import Event, PartyKind, Role
from cobuild_contracts.events.points import (
    MemberLeft,
    MemberRegistered,
    MemberReportDeclined,
    MemberReported,
    MemberTransferred,
)
from cobuild_kit.actor import is_person
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests
from cobuild_kit.logging import get_logger
from cobuild_kit.parties import authorize
from cobuild_kit.rows import NumberedRow, RowError

from cobuild_points.domain import members as lifecycle
from cobuild_points.domain.roster import PHONE_ELSEWHERE, PHONE_KNOWN, MemberDraft, parse_roster
from cobuild_points.settings import PointsRuntime
from cobuild_points.store import activities, ledger, members, parties, wishes
from cobuild_points.store.paging import Slice
from cobuild_points.usecases.access import (
    COMMUNITY,
    UNIT,
    View,
    authorize_read,
    hidden,
    is_self,
    looks_after,
    may_register,
    require_self,
    serving_community,
    visible_member,
)
from cobuild_points.usecases.bulk import ItemChecks

log = get_logger(__name__)
REGISTRARS = frozenset({Role.UNIT_ADMIN, Role.COMMUNITY_ADMIN})


async def register(rt: PointsRuntime, actor: Actor, draft: MemberDraft) -> asyncpg.Record:
    """A unit admin registers its member, or the residence community's admin does."""
    if not may_register(actor, draft.unit_id, draft.community_id):
        raise Forbidden(
            f"{actor.role.value} of {actor.party_id} may not register members of unit "
            f"{draft.unit_id} living in community {draft.community_id}"
        )
    member_id = uuid4()
    async with rt.unit_of_work() as uow:
        if taken := await phones_taken(rt, uow.conn, actor, [draft.phone]):
            raise taken[draft.phone]
        now = rt.clock.now()
        await members.insert(uow.conn, member_id, draft, actor.subject, now)
        await _announce(uow.emit, [(member_id, draft)], now)
        row = await members.get(uow.conn, member_id)
    log.info("member.registered", member_id=str(member_id), unit_id=str(draft.unit_id))
    return row


async def phones_taken(
    rt: PointsRuntime, conn: asyncpg.Connection, actor: Actor, phones: list[str]
) -> dict[str, Conflict]:
    """The answer for each of `phones` already registered, the same on the single, bulk and
    import paths (API description, "Phones already registered"): a member the actor looks
    after is named as such (`PHONE_KNOWN`); anyone else gets `PHONE_ELSEWHERE`, which says
    neither whose nor where, and each such answer counts against the actor's
    `phone_refusals_per_minute`: beyond it the whole request is a 429 that names no phone."""
    answers: dict[str, Conflict] = {}
    elsewhere = 0
    for row in await members.with_phones(conn, phones):
        if looks_after(actor, row):
            answers[row["phone"]] = Conflict(PHONE_KNOWN, field="body.phone")
        else:
            answers[row["phone"]] = Conflict(PHONE_ELSEWHERE, field="body.phone")
            elsewhere += 1
    if elsewhere:
        key = f"{actor.role.value}:{actor.party_id}"
        per_minute = rt.settings.phone_refusals_per_minute
        allowed = [rt.rate_limits.allow("phone-refused", key, per_minute) for _ in range(elsewhere)]
        log.info(
            "member.phones_refused",
            actor=actor.subject,
            party_id=str(actor.party_id),
            count=elsewhere,
            limited=not all(allowed),
        )
        if not all(allowed):
            raise TooManyRequests(
                "too many registrations of phone numbers you may not register: wait a minute, "
                "then try again"
            )
    return answers


async def _announce(
    emit: Callable[[Event], Awaitable[object]],
    registered: list[tuple[UUID, MemberDraft]],
    at: datetime,
) -> None:
    """`member.registered` for each new member, in the registration's transaction (the
    outbox): the access service issues the invitation that links a person's account to the
    member id. Ids only, never the name or phone."""
    for member_id, draft in registered:
        await emit(MemberRegistered(member_id=member_id, unit_id=draft.unit_id, registered_at=at))


def require_registrar(actor: Actor) -> None:
    """Asked before an import file is even read."""
    if actor.role not in REGISTRARS:
        raise Forbidden(f"{actor.role.value} may not register members")


@dataclass(frozen=True)
class Imported:
    """Either the new members' ids, or the rows' errors (and nothing was written)."""

    member_ids: list[UUID]
    errors: list[RowError]


async def import_roster(rt: PointsRuntime, actor: Actor, rows: list[NumberedRow]) -> Imported:
    """All rows or none: any bad row (or a phone already registered, answered per row as
    the single path does, `phones_taken`) rejects the import."""
    numbered, errors = parse_roster(rows)
    errors += [
        RowError(row, "unit_id", "you may not register members of this unit")
        for row, draft in numbered
        if not may_register(actor, draft.unit_id, draft.community_id)
    ]
    drafts = [draft for _, draft in numbered]
    # Phones are looked up only for rows the actor may register: a row they may not learns
    # nothing of its phone.
    mine = [(row, d) for row, d in numbered if may_register(actor, d.unit_id, d.community_id)]
    async with rt.unit_of_work() as uow:
        taken = await phones_taken(rt, uow.conn, actor, [d.phone for _, d in mine])
        errors += [
            RowError(row, "phone", taken[d.phone].message) for row, d in mine if d.phone in taken
        ]
        if errors or not drafts:
            return Imported([], errors or [RowError(2, "file", "no data rows")])
        now = rt.clock.now()
        ids = [uuid4() for _ in drafts]
        for member_id, draft in zip(ids, drafts, strict=True):
            await members.insert(uow.conn, member_id, draft, actor.subject, now)
        await _announce(uow.emit, list(zip(ids, drafts, strict=True)), now)
    log.info("members.imported", count=len(ids), actor=actor.subject)
    return Imported(ids, [])


async def read(rt: PointsRuntime, actor: Actor, member_id: UUID) -> asyncpg.Record:
    """The member's profile, for the member and the community they serve; to anyone else
    (their unit's admin too, who sees point totals only) the member is not found."""
    async with rt.pool.acquire() as conn:
        row, _ = await visible_member(conn, actor, member_id, needs=View.FULL)
    return row


@dataclass(frozen=True)
class MemberData:
    """Everything this service holds about a member."""

    member: asyncpg.Record
    activities: list[asyncpg.Record]
    wishes: list[asyncpg.Record]
    points_entries: list[asyncpg.Record]
    exported_at: datetime


async def export(rt: PointsRuntime, actor: Actor, member_id: UUID) -> MemberData:
    """For the member alone; to anyone else the member is not found."""
    async with rt.pool.acquire() as conn:
        member = await members.find(conn, member_id)
        if member is None or not is_self(actor, member_id):
            raise hidden(f"member {member_id}", "path.member_id")
        return MemberData(
            member=member,
            activities=await activities.of_member(conn, member_id),
            wishes=await wishes.of_member(conn, member_id),
            points_entries=await ledger.of_member(conn, member_id),
            exported_at=rt.clock.now(),
        )


async def set_preferences(
    rt: PointsRuntime, actor: Actor, member_id: UUID, show_full_name: bool
) -> asyncpg.Record:
    """`show_full_name`: opt in to the full name on the public honour roll."""
    require_self(actor, member_id, "change their preferences")
    async with rt.unit_of_work() as uow:
        await members.get(uow.conn, member_id, lock=True)
        await members.set_show_full_name(uow.conn, member_id, show_full_name)
        return await members.get(uow.conn, member_id)


async def request_report(
    rt: PointsRuntime,
    actor: Actor,
    member_id: UUID,
    community_id: UUID | None,
    unit_id: UUID | None = None,
) -> asyncpg.Record:
    """The member asks to report (报到) to a community, by default where they live: with
    their member token, or signed in as themself (a `person` token) naming their unit."""
    if is_person(actor):
        return await _request_report_as_person(rt, actor, member_id, community_id, unit_id)
    on_behalf = actor.role is Role.COMMUNITY_ADMIN
    if not on_behalf:
        require_self(actor, member_id, "report to a community")
    async with rt.unit_of_work() as uow:
        row = await members.get(uow.conn, member_id, lock=True)
        community = community_id or row["residence_community_id"]
        if on_behalf and not (
            actor.party_id == community and actor.party_id == row["residence_community_id"]
        ):
            # 代录: a member without a phone reports at the counter of the community they
            # live in; its admin enters it for them (the console records the act in the
            # access audit). Any other community's admin may not.
            raise Forbidden("a community admin reports only a member who lives there, to it")
        lifecycle.require("report", row["status"])
        await members.request_report(uow.conn, member_id, community)
        return await members.get(uow.conn, member_id)


async def _request_report_as_person(
    rt: PointsRuntime,
    actor: Actor,
    member_id: UUID,
    community_id: UUID | None,
    unit_id: UUID | None,
) -> asyncpg.Record:
    """A person signed in with no grant yet reports as the member their unit registered: the
    member id (from their invitation) and the unit together say which member they are; a
    wrong pair is "not found", as an unknown id. The sign-in is linked to the member, and the
    accepted report's `member.reported` names it, so the access service grants the person
    the member role. One sign-in is one member."""
    if unit_id is None:
        raise Invalid(
            "a signed-in person names the unit that registered them", field="body.unit_id"
        )
    async with rt.unit_of_work() as uow:
        row = await members.find(uow.conn, member_id)
        if row is None or row["unit_id"] != unit_id:
            raise hidden(f"member {member_id}", "path.member_id")
        row = await members.get(uow.conn, member_id, lock=True)
        if row["subject"] not in (None, actor.subject):
            log.warning("member.link_refused", member_id=str(member_id), reason="linked")
            raise Conflict("the member is linked to another sign-in")
        linked = await members.by_subject(uow.conn, actor.subject)
        if linked is not None and linked["member_id"] != member_id:
            raise Conflict(f"your sign-in is linked to member {linked['member_id']}")
        lifecycle.require("report", row["status"])
        await members.link_subject(uow.conn, member_id, actor.subject)
        await members.request_report(
            uow.conn, member_id, community_id or row["residence_community_id"]
        )
        log.info("member.report_requested_signed_in", member_id=str(member_id))
        return await members.get(uow.conn, member_id)


async def accept(rt: PointsRuntime, actor: Actor, member_id: UUID) -> asyncpg.Record:
    """The community's admin accepts a member reporting to it."""
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
                subject=row["subject"],
            )
        )
    return row


async def decline(rt: PointsRuntime, actor: Actor, member_id: UUID, reason: str) -> asyncpg.Record:
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
        community_id = serving_community(row)
        await members.decline_report(uow.conn, member_id)
        await uow.emit(_declined(row, community_id, reason, rt.clock.now()))
        log.info("member.report_declined", member_id=str(member_id))
        return await members.get(uow.conn, member_id)


def _declined(
    row: asyncpg.Record, community_id: UUID, reason: str, at: datetime
) -> MemberReportDeclined:
    """The member hears (through notifications) that and why: the reason, numbers masked."""
    return MemberReportDeclined(
        member_id=row["member_id"],
        unit_id=row["unit_id"],
        community_id=community_id,
        reason=lifecycle.masked_reason(reason),
        declined_at=at,
        subject=row["subject"],
    )


async def transfer(
    rt: PointsRuntime, actor: Actor, member_id: UUID, to_community_id: UUID, grid_id: UUID | None
) -> asyncpg.Record:
    """Move a reported member to another community (they moved house); the member or the
    current community's admin does it. The target must be an active community of the
    parties directory."""
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
        if to_community_id == row["community_id"]:
            raise Invalid("is the member's current community", field="body.to_community_id")
        await _require_community(uow.conn, member_id, to_community_id)
        now = rt.clock.now()
        await members.transfer(uow.conn, member_id, to_community_id, grid_id, now)
        await uow.emit(
            MemberTransferred(
                member_id=member_id,
                unit_id=row["unit_id"],
                from_community_id=row["community_id"],
                to_community_id=to_community_id,
                transferred_at=now,
            )
        )
        return await members.get(uow.conn, member_id)


async def _require_community(conn: asyncpg.Connection, member_id: UUID, party_id: UUID) -> None:
    """A transfer's target: an active community of the parties directory, else a 422."""
    party = await parties.find(conn, party_id)
    problem = None
    if party is None or party["kind"] != PartyKind.COMMUNITY.value:
        problem = "is not a registered community"
    elif not party["active"]:
        problem = "is a community no longer active"
    if problem is not None:
        log.info(
            "member.transfer_refused",
            member_id=str(member_id),
            to_community_id=str(party_id),
            reason=problem,
        )
        raise Invalid(problem, field="body.to_community_id")


async def leave(rt: PointsRuntime, actor: Actor, member_id: UUID, reason: str) -> asyncpg.Record:
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
        await members.leave(uow.conn, member_id, reason, now)
        await uow.emit(MemberLeft(member_id=member_id, reason=reason, left_at=now))
        return await members.get(uow.conn, member_id)


async def of_community(
    rt: PointsRuntime, actor: Actor, community_id: UUID, *, limit: int, offset: int
) -> Slice:
    """The members reported to the community, and those waiting for acceptance."""
    async with rt.pool.acquire() as conn:
        await authorize_read(
            conn,
            actor,
            community_id,
            roles=COMMUNITY,
            what=f"community {community_id}",
            field="path.community_id",
        )
        return await members.of_community(conn, community_id, limit=limit, offset=offset)


async def of_unit(
    rt: PointsRuntime, actor: Actor, unit_id: UUID, *, limit: int, offset: int
) -> Slice:
    """The unit's members with their names, no phones: its admin registered them and assigns
    them to the unit's tasks. For anyone else the unit is not found (404)."""
    async with rt.pool.acquire() as conn:
        await authorize_read(
            conn, actor, unit_id, roles=UNIT, what=f"unit {unit_id}", field="path.unit_id"
        )
        return await members.of_unit(conn, unit_id, limit=limit, offset=offset)


# --- bulk commands: all or nothing ---------------------------------------------------------


@dataclass(frozen=True)
class ReportDecision:
    member: asyncpg.Record
    changed: bool  # false: already so (a repeated accept), nothing written, no event


async def _requests_to(
    conn: asyncpg.Connection, community_id: UUID, member_ids: list[UUID], action: str
) -> dict[UUID, asyncpg.Record]:
    """The members, locked, each checked: one not asking (or serving) this community is
    "not found" to its admin, as a stranger's member is on the single path's reads."""
    found = await members.get_many(conn, member_ids, lock=True)
    checks = ItemChecks("body.member_ids")
    seen: dict[UUID, int] = {}
    for index, member_id in enumerate(member_ids):
        row = found.get(member_id)
        if seen.setdefault(member_id, index) != index:
            checks.fail(index, Invalid(f"repeats item {seen[member_id]}"))
        elif row is None or serving_community(row) != community_id:
            checks.fail(index, NotFound(f"member {member_id} not found"))
        elif not (action == "accept" and row["status"] == "reported"):
            checks.check(index, partial(lifecycle.require, action, row["status"]))
    checks.refuse_if_any(len(member_ids))
    return found


async def accept_many(
    rt: PointsRuntime, actor: Actor, community_id: UUID, member_ids: list[UUID]
) -> list[ReportDecision]:
    """The community's admin accepts members reporting to it, all or none. A member already
    reported here is left as is (a repeated request is harmless)."""
    async with rt.unit_of_work() as uow:
        await authorize(
            uow.conn,
            actor,
            community_id,
            roles=COMMUNITY,
            action="accept members reporting to this community",
        )
        found = await _requests_to(uow.conn, community_id, member_ids, "accept")
        waiting = [m for m in member_ids if found[m]["status"] == "requested"]
        now = rt.clock.now()
        accepted = await members.accept_reports(uow.conn, waiting, now)
        for member_id in waiting:  # in the request's order, as single accepts would emit
            row = accepted[member_id]
            await uow.emit(
                MemberReported(
                    member_id=member_id,
                    unit_id=row["unit_id"],
                    community_id=row["community_id"],
                    grid_id=row["grid_id"],
                    reported_at=now,
                    subject=row["subject"],
                )
            )
    return [
        ReportDecision(accepted[m], True) if m in accepted else ReportDecision(found[m], False)
        for m in member_ids
    ]


async def decline_many(
    rt: PointsRuntime, actor: Actor, community_id: UUID, member_ids: list[UUID], reason: str
) -> list[ReportDecision]:
    """The community's admin declines members asking to report to it, all or none, with one
    reason: each emits `member.report_declined` as a single decline would."""
    async with rt.unit_of_work() as uow:
        await authorize(
            uow.conn,
            actor,
            community_id,
            roles=COMMUNITY,
            action="decline members reporting to this community",
        )
        found = await _requests_to(uow.conn, community_id, member_ids, "decline")
        declined = await members.decline_reports(uow.conn, member_ids)
        now = rt.clock.now()
        for member_id in member_ids:  # in the request's order, as single declines would emit
            await uow.emit(_declined(found[member_id], community_id, reason, now))
    log.info("member.reports_declined", count=len(member_ids))
    return [ReportDecision(declined[m], True) for m in member_ids]


async def register_many(
    rt: PointsRuntime, actor: Actor, unit_id: UUID, drafts: list[MemberDraft]
) -> list[asyncpg.Record]:
    """Members of one unit registered at once, all or none. A phone already registered
    refuses the request naming the item, with what the single path says (`phones_taken`)
    and nothing more: not whose it is, nor where."""
    if (
        not (actor.role is Role.UNIT_ADMIN and actor.party_id == unit_id)
        and actor.role is not Role.COMMUNITY_ADMIN
    ):
        raise Forbidden(
            f"{actor.role.value} of {actor.party_id} may not register members of unit {unit_id}"
        )
    checks = ItemChecks("body.members")
    seen: dict[str, int] = {}
    for index, draft in enumerate(drafts):
        if draft.unit_id != unit_id:
            checks.fail(index, Invalid(f"is not the unit {unit_id}", field="body.unit_id"))
        elif not may_register(actor, draft.unit_id, draft.community_id):
            checks.fail(
                index,
                Forbidden(
                    f"{actor.role.value} of {actor.party_id} may not register members living "
                    f"in community {draft.community_id}"
                ),
            )
        if draft.phone in seen:
            checks.fail(index, Invalid(f"repeats item {seen[draft.phone]}", field="body.phone"))
        seen.setdefault(draft.phone, index)
    if any(isinstance(f.error, Forbidden) for f in checks.failures):
        # Refused before the phones are looked up: one who may not register these members
        # learns nothing of which phones are registered.
        checks.refuse_if_any(len(drafts))
    async with rt.unit_of_work() as uow:
        taken = await phones_taken(rt, uow.conn, actor, [d.phone for d in drafts])
        for index, draft in enumerate(drafts):
            if draft.phone in taken:
                checks.fail(index, taken[draft.phone])
        checks.failures.sort(key=lambda f: _item_index(f.field))
        checks.refuse_if_any(len(drafts))
        ids = [uuid4() for _ in drafts]
        now = rt.clock.now()
        registered = list(zip(ids, drafts, strict=True))
        await members.insert_many(uow.conn, registered, actor.subject, now)
        await _announce(uow.emit, registered, now)
        found = await members.get_many(uow.conn, ids)
    log.info("members.registered", count=len(ids), unit_id=str(unit_id), actor=actor.subject)
    return [found[i] for i in ids]


def _item_index(field: str) -> int:
    return int(field.split(".")[2])
