"""Invitations: an admin invites a person to what the admin could grant; the link (and its QR
code) is shown to the admin and mailed where an address was given; the invitee, signed in,
accepts it once, before it expires, and it becomes a grant (ARCHITECTURE.md, "Access").

An invitation to role `member` (party: a member id the points service told of) links the
person's account to that member, one to role `expert` (party: an expert id of the evaluation
service's directory) to that expert: accepting it is their grant."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

import asyncpg
from cobuild_contracts import Role, uuid7
from cobuild_contracts.events.points import MemberRegistered
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Forbidden, Gone, Invalid, NotFound
from cobuild_kit.logging import get_logger

from cobuild_access.adapters.mail import Mail
from cobuild_access.domain.audit import AuditEntry, AuditKind, Outcome
from cobuild_access.domain.delegation import (
    DIRECTORY_ROLES,
    MemberPlace,
    refusal_to_grant,
    refusal_to_invite_expert,
    refusal_to_invite_member,
)
from cobuild_access.domain.invitations import (
    TOKEN_BYTES,
    InvitationFacts,
    InvitationState,
    require_open,
    state,
    token_hash,
)
from cobuild_access.settings import AccessRuntime, AccessSettings
from cobuild_access.store import directory, grants, invitations, parties
from cobuild_access.usecases import grants as granting
from cobuild_access.usecases.actors import grantor, require_live
from cobuild_access.usecases.audit import by, record, record_apart, refusals_recorded
from cobuild_access.wiring import parts_of

log = get_logger(__name__)

ROLE_NAMES = {
    Role.STREET_ADMIN: "街道管理员 street admin",
    Role.COMMUNITY_ADMIN: "社区工作者 community worker",
    Role.UNIT_ADMIN: "单位管理员 unit admin",
    Role.SERVICE: "系统对接 integration",
    Role.MEMBER: "在职党员 member",
    Role.EXPERT: "评议专家 expert",
}


@dataclass(frozen=True)
class Issued:
    """A new (or renewed) invitation: its row and, this once, its link (the token is not kept)."""

    row: asyncpg.Record
    link: str
    token: str


def wall_now(rt: AccessRuntime) -> datetime:
    """Invitations expire by the wall clock, like tokens (ARCHITECTURE.md, "Business time"):
    a link is a credential, and a played year's business clock must not age it."""
    return parts_of(rt).wall()


def link_of(settings: AccessSettings, token: str) -> str:
    return settings.public_url.rstrip("/") + settings.invitation_path + token


def current_state(rt: AccessRuntime, row: asyncpg.Record) -> InvitationState:
    return state(_facts(row), wall_now(rt))


def _facts(row: asyncpg.Record) -> InvitationFacts:
    return InvitationFacts(row["expires_at"], row["accepted_at"], row["withdrawn_at"])


async def _refusal(
    conn: asyncpg.Connection, actor: Actor, role: Role, party_id: UUID
) -> str | None:
    """What the inviting admin could not grant: the same rules as a grant."""
    if role is Role.EXPERT:
        known = await directory.expert(conn, party_id)
        return refusal_to_invite_expert(grantor(actor), known is not None and known["active"])
    if role is Role.MEMBER:
        row = await directory.member(conn, party_id)
        place = (
            MemberPlace(row["member_id"], row["unit_id"], row["community_id"], row["active"])
            if row is not None
            else None
        )
        return refusal_to_invite_member(grantor(actor), place)
    target = await parties.target(conn, party_id)
    if target.kind is None and role in DIRECTORY_ROLES:
        raise Invalid(f"party {party_id} is not in the parties directory", field="body.party_id")
    return refusal_to_grant(grantor(actor), role, target)


async def create(
    rt: AccessRuntime, actor: Actor, *, role: Role, party_id: UUID, email: str | None
) -> Issued:
    async with refusals_recorded(rt, actor, "invite", role=role.value, party_id=party_id):
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = wall_now(rt)
        async with rt.unit_of_work() as uow:
            await require_live(uow.conn, actor)
            if why := await _refusal(uow.conn, actor, role, party_id):
                raise Forbidden(f"may not invite: {why}")
            invitation_id = uuid7()
            await invitations.insert(
                uow.conn,
                invitation_id=invitation_id,
                token_hash=token_hash(token),
                role=role,
                party_id=party_id,
                invited_by=actor.subject,
                inviter_role=actor.role,
                inviter_party=actor.party_id,
                inviter_grant=actor.grant_id,
                created_at=now,
                expires_at=now + timedelta(hours=rt.settings.invitation_ttl_h),
                email=email,
            )
            await record(
                uow.conn,
                by(
                    actor,
                    AuditKind.INVITATION_CREATED,
                    rt,
                    role=role.value,
                    party_id=party_id,
                    invitation_id=invitation_id,
                    # whether, never what: the address is personal data kept only on the invitation
                    detail="to be mailed" if email else "link handed over by the admin",
                ),
            )
    row = await _mail(rt, actor, invitation_id, token)
    return Issued(row, link_of(rt.settings, token), token)


async def renew(rt: AccessRuntime, actor: Actor, invitation_id: UUID) -> Issued:
    """A fresh link and expiry for an open invitation (a lost link, a failed mail): the old
    link stops working; the mail is sent again if the address is still kept."""
    async with refusals_recorded(rt, actor, "renew an invitation", invitation_id=invitation_id):
        token = secrets.token_urlsafe(TOKEN_BYTES)
        async with rt.unit_of_work() as uow:
            await require_live(uow.conn, actor)
            row = await _own(uow.conn, actor, invitation_id)
            require_open(_facts(row), wall_now(rt))
            await invitations.renew(
                uow.conn,
                invitation_id,
                token_hash=token_hash(token),
                expires_at=wall_now(rt) + timedelta(hours=rt.settings.invitation_ttl_h),
            )
            await record(
                uow.conn,
                by(actor, AuditKind.INVITATION_RENEWED, rt, invitation_id=invitation_id,
                   role=row["role"], party_id=row["party_id"]),
            )  # fmt: skip
    row = await _mail(rt, actor, invitation_id, token)
    return Issued(row, link_of(rt.settings, token), token)


async def withdraw(rt: AccessRuntime, actor: Actor, invitation_id: UUID) -> asyncpg.Record:
    async with (
        refusals_recorded(rt, actor, "withdraw an invitation", invitation_id=invitation_id),
        rt.unit_of_work() as uow,
    ):
        await require_live(uow.conn, actor)
        row = await _own(uow.conn, actor, invitation_id)
        require_open(_facts(row), wall_now(rt))
        await invitations.withdraw(uow.conn, invitation_id, by=actor.subject, at=wall_now(rt))
        await record(
            uow.conn,
            by(actor, AuditKind.INVITATION_WITHDRAWN, rt, invitation_id=invitation_id,
               role=row["role"], party_id=row["party_id"]),
        )  # fmt: skip
        updated = await invitations.get(uow.conn, invitation_id)
        assert updated is not None
        return updated


# Who issues the invitation that follows a member's registration: the points service, on
# behalf of the member's unit (the unit admin lists it and hands the link on).
REGISTRATION = "service:points"
# No link exists until the unit admin takes one (`renew`, which starts the configured expiry):
# until then the invitation waits, up to the longest expiry the settings allow.
REGISTRATION_WAIT = timedelta(days=30)


def registration_invitation_id(member_id: UUID) -> UUID:
    """One invitation per member id, whatever the redeliveries or replays."""
    return uuid5(NAMESPACE_URL, f"cobuild:member-invitation:{member_id}")


async def for_registered_member(
    conn: asyncpg.Connection, event: MemberRegistered, now: datetime
) -> UUID | None:
    """An open `member` invitation for a member just registered, on behalf of their unit,
    without an address (nothing is mailed): accepting it links the person's account to the
    member id. None when nothing was issued: the member already holds a member grant, or the
    invitation exists. `now` is the wall clock (invitations expire by it)."""
    await directory.member_registered(
        conn, event.member_id, unit_id=event.unit_id, at=event.registered_at
    )
    if await grants.live_for_party(conn, event.member_id, Role.MEMBER):
        return None
    invitation_id = registration_invitation_id(event.member_id)
    # A token nobody keeps: the unit admin renews the invitation to get its link and QR code.
    token = secrets.token_urlsafe(TOKEN_BYTES)
    issued = await invitations.insert(
        conn,
        invitation_id=invitation_id,
        token_hash=token_hash(token),
        role=Role.MEMBER,
        party_id=event.member_id,
        invited_by=REGISTRATION,
        inviter_role=Role.UNIT_ADMIN,
        inviter_party=event.unit_id,
        inviter_grant=None,
        created_at=now,
        expires_at=now + REGISTRATION_WAIT,
        email=None,
    )
    if not issued:
        return None
    await record(
        conn,
        AuditEntry(
            kind=AuditKind.INVITATION_CREATED,
            at=now,
            actor=REGISTRATION,
            actor_role=Role.UNIT_ADMIN.value,
            actor_party=event.unit_id,
            role=Role.MEMBER.value,
            party_id=event.member_id,
            invitation_id=invitation_id,
            detail="member registered (member.registered): link handed over by the unit admin",
        ),
    )
    return invitation_id


async def _own(
    conn: asyncpg.Connection, actor: Actor, invitation_id: UUID, *, lock: bool = True
) -> asyncpg.Record:
    """An invitation the actor may manage: theirs, one they could have made, or any for the
    operator. Anyone else learns nothing of it (404)."""
    row = await invitations.get(conn, invitation_id, lock=lock)
    if row is None:
        raise NotFound(f"no invitation {invitation_id}")
    if actor.role is Role.OPERATOR or row["invited_by"] == actor.subject:
        return row
    if await _refusal(conn, actor, Role(row["role"]), row["party_id"]) is None:
        return row
    raise NotFound(f"no invitation {invitation_id}")


async def get(rt: AccessRuntime, actor: Actor, invitation_id: UUID) -> asyncpg.Record:
    async with rt.pool.acquire() as conn:
        await require_live(conn, actor)
        return await _own(conn, actor, invitation_id, lock=False)


async def listed(
    rt: AccessRuntime, actor: Actor, *, party_id: UUID | None, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    async with (
        refusals_recorded(rt, actor, "list invitations", party_id=party_id),
        rt.pool.acquire() as conn,
    ):
        await require_live(conn, actor)
        if actor.role in (Role.UNIT_ADMIN, Role.COMMUNITY_ADMIN) and party_id is None:
            scope: list[UUID] | None = [actor.party_id]
        else:
            scope = await granting.visible_parties(conn, actor, party_id)
        return await invitations.for_parties(conn, scope, limit=limit, offset=offset)


async def lookup(rt: AccessRuntime, token: str) -> asyncpg.Record:
    """What a link invites to, for the page the invitee opens (no token needed: the link's
    token is the secret). 404 for a token that never was."""
    async with rt.pool.acquire() as conn:
        row = await invitations.by_token(conn, token_hash(token))
    if row is None:
        raise NotFound("no such invitation (check the link)")
    return row


async def accept(rt: AccessRuntime, actor: Actor, token: str) -> asyncpg.Record:
    """The signed-in invitee takes the invitation: once, while it is open, and while the
    inviting admin still holds the grant they invited with."""
    now = wall_now(rt)
    try:
        async with rt.unit_of_work() as uow:
            row = await invitations.by_token(uow.conn, token_hash(token), lock=True)
            if row is None:
                raise NotFound("no such invitation (check the link)")
            require_open(_facts(row), now)
            if row["inviter_grant"] is not None:
                inviter = await grants.get(uow.conn, row["inviter_grant"])
                if inviter is None or inviter["revoked_at"] is not None:
                    raise Gone(
                        "the admin who invited you no longer holds that role; ask for a new invitation"
                    )
            role, party_id = Role(row["role"]), row["party_id"]
            if role is Role.MEMBER:
                member = await directory.member(uow.conn, party_id, lock=True)
                if member is None or not member["active"]:
                    raise Gone(f"member {party_id} has left")
                await directory.link_member(uow.conn, party_id, actor.subject, now)
            elif role is Role.EXPERT:
                await directory.link_expert(uow.conn, party_id, actor.subject, now)
            elif role in DIRECTORY_ROLES:
                target = await parties.target(uow.conn, party_id)
                if not target.active:
                    raise Gone(f"party {party_id} is no longer active")
            audit = by(actor, AuditKind.INVITATION_ACCEPTED, rt, invitation_id=row["invitation_id"])
            granted = await granting.add(
                uow.conn,
                uow.emit,
                subject=actor.subject,
                role=role,
                party_id=party_id,
                granted_by=row["invited_by"],
                at=now,
                origin="invitation",
                invitation_id=row["invitation_id"],
                audit=audit,
                grant_id=uuid5(row["invitation_id"], "grant"),
            )
            if granted is None:  # already held: the invitation is spent on the grant they have
                granted = await grants.live(uow.conn, actor.subject, role, party_id)
                assert granted is not None
                await record(
                    uow.conn,
                    replace(audit, role=role.value, party_id=party_id,
                            grant_id=granted["grant_id"], detail="the grant was already held"),
                )  # fmt: skip
            await invitations.accept(
                uow.conn,
                row["invitation_id"],
                by=actor.subject,
                at=now,
                grant_id=granted["grant_id"],
            )
            return granted
    except (Gone, NotFound) as exc:
        # A wrong or spent link is recorded as a refusal: repeated tries show in the audit.
        await record_apart(
            rt,
            by(actor, AuditKind.REFUSAL, rt, outcome=Outcome.REFUSED,
               detail=f"accept an invitation: {exc.message}"),
        )  # fmt: skip
        raise


async def _mail(rt: AccessRuntime, actor: Actor, invitation_id: UUID, token: str) -> asyncpg.Record:
    """Mail the link where an address is kept, and note how it went. A failed mail leaves the
    invitation open: the admin hands the link or QR code on, or renews it later."""
    async with rt.pool.acquire() as conn:
        row = await invitations.get(conn, invitation_id)
    assert row is not None
    if not row["email"]:
        return row
    mail = _invitation_mail(rt.settings, row, link_of(rt.settings, token))
    try:
        await parts_of(rt).mailer.send(mail)
        outcome, mail_state, detail = Outcome.DONE, "sent", "mailed"
    except Exception as exc:  # any failure of the mail server: recorded, never lost silently
        log.warning("invitation.mail_failed", invitation_id=str(invitation_id), error=repr(exc))
        outcome, mail_state, detail = (
            Outcome.REFUSED,
            "failed",
            f"mail failed: {type(exc).__name__}",
        )
    async with rt.unit_of_work() as uow:
        await invitations.set_mail_state(uow.conn, invitation_id, mail_state)
        await record(
            uow.conn,
            by(actor, AuditKind.INVITATION_MAILED, rt, invitation_id=invitation_id,
               role=row["role"], party_id=row["party_id"], outcome=outcome, detail=detail),
        )  # fmt: skip
        updated = await invitations.get(uow.conn, invitation_id)
    assert updated is not None
    return updated


def _invitation_mail(settings: AccessSettings, row: asyncpg.Record, link: str) -> Mail:
    role = ROLE_NAMES.get(Role(row["role"]), row["role"])
    party = row["party_name"] or str(row["party_id"])
    expires = row["expires_at"].isoformat(timespec="minutes")
    text = (
        f"您好：\n\n您受邀在 Cobuild（契约化共建）中担任「{role}」（{party}）。\n"
        f"请在 {expires}（UTC）前打开下面的链接，登录（或注册）后接受邀请。链接只能使用一次。\n\n"
        f"{link}\n\n"
        f"Hello,\n\nYou are invited to act as {role} for {party} in Cobuild.\n"
        f"Open the link above before {expires} UTC, sign in (or create your account) and accept."
        " The link works once.\n"
    )
    return Mail(to=row["email"], subject=f"Cobuild 邀请 / invitation: {party}", text=text)


async def purge_addresses(rt: AccessRuntime) -> int:
    """Addresses of expired invitations are dropped (used and withdrawn ones drop theirs at
    once)."""
    async with rt.unit_of_work() as uow:
        return await invitations.purge_addresses(uow.conn, wall_now(rt))
