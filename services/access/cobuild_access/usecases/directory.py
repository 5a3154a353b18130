"""Members and experts, learned from their services' events: a member's grant follows from
the points service's accepted report (报到) for a person's account, an expert's from the
evaluation service's expert directory; a member who leaves loses it.

Handlers are deterministic in the event (ids from the event id, times from the event), so a
replay makes the same grants; the inbox makes a redelivery change nothing."""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

import asyncpg
from cobuild_contracts import Envelope, Role
from cobuild_contracts.events.evaluation import ExpertRegistered
from cobuild_contracts.events.points import MemberLeft, MemberReported, MemberTransferred
from cobuild_kit.logging import get_logger

from cobuild_access.domain.audit import AuditEntry, AuditKind
from cobuild_access.store import directory, grants
from cobuild_access.usecases.grants import Emit, add, remove

log = get_logger(__name__)

POINTS = "service:points"
EVALUATION = "service:evaluation"


def _grant_id(envelope: Envelope) -> UUID:
    return uuid5(NAMESPACE_URL, f"cobuild:grant:{envelope.event_id}")


async def ensure_grant(
    conn: asyncpg.Connection,
    emit: Emit,
    envelope: Envelope,
    *,
    subject: str,
    role: Role,
    party_id: UUID,
    by: str,
    at: datetime,
    origin: str,
) -> None:
    """The subject holds the grant afterwards; nothing happens if they already did."""
    if await grants.live(conn, subject, role, party_id) is not None:
        return
    await add(
        conn,
        emit,
        subject=subject,
        role=role,
        party_id=party_id,
        granted_by=by,
        at=at,
        origin=origin,
        grant_id=_grant_id(envelope),
        audit=AuditEntry(kind=AuditKind.GRANT_ADDED, at=at, actor=by),
    )


async def member_reported(
    conn: asyncpg.Connection, emit: Emit, envelope: Envelope, event: MemberReported
) -> None:
    """`subject` is an additive v1 field of `member.reported`: absent from older producers,
    in which case a subject linked earlier (an accepted member invitation) is used, if any.
    Read from the model where these contracts have it, else from the payload as sent."""
    subject = getattr(event, "subject", None) or envelope.payload.get("subject")
    if not isinstance(subject, str) or not 0 < len(subject) <= 255:
        subject = None
    row = await directory.upsert_member(
        conn,
        event.member_id,
        unit_id=event.unit_id,
        community_id=event.community_id,
        subject=subject,
        at=event.reported_at,
    )
    linked = row["subject"]
    if not linked:
        return
    await ensure_grant(
        conn,
        emit,
        envelope,
        subject=linked,
        role=Role.MEMBER,
        party_id=event.member_id,
        by=POINTS,
        at=event.reported_at,
        origin="member_report",
    )


async def member_transferred(conn: asyncpg.Connection, event: MemberTransferred) -> None:
    """The member's grant is for their member id, so it stays; their community changes (who
    may invite them to link an account)."""
    if not await directory.move_member(
        conn, event.member_id, event.to_community_id, event.transferred_at
    ):
        log.info("member.transfer_of_unknown", member_id=str(event.member_id))


async def member_left(conn: asyncpg.Connection, emit: Emit, event: MemberLeft) -> None:
    await directory.member_left(conn, event.member_id, event.left_at)
    for row in await grants.live_for_party(conn, event.member_id, Role.MEMBER):
        await remove(
            conn,
            emit,
            row,
            revoked_by=POINTS,
            at=event.left_at,
            reason="the member left (member.left)",
            audit=AuditEntry(kind=AuditKind.GRANT_REVOKED, at=event.left_at, actor=POINTS),
        )


async def expert_registered(
    conn: asyncpg.Connection, emit: Emit, envelope: Envelope, event: ExpertRegistered
) -> None:
    """An expert of the evaluation service's directory: the expert grant (party the expert
    id) goes to their subject when the event names one, or to the subject an accepted expert
    invitation linked."""
    row = await directory.upsert_expert(
        conn, event.expert_id, subject=event.subject, active=True, at=event.registered_at
    )
    if not row["subject"]:
        return
    await ensure_grant(
        conn,
        emit,
        envelope,
        subject=row["subject"],
        role=Role.EXPERT,
        party_id=event.expert_id,
        by=EVALUATION,
        at=event.registered_at,
        origin="expert_directory",
    )
