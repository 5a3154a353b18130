"""Grants: the delegated grant, the bootstrap, revocation, and the lists (ARCHITECTURE.md,
"Access"). Every change emits its event through the outbox in the change's transaction, and
is audited in it too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID

import asyncpg
from cobuild_contracts import Envelope, Event, PartyKind, Role, uuid7
from cobuild_contracts.events.access import GrantAdded, GrantRevoked
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Conflict, Forbidden, Invalid, NotFound

from cobuild_access.domain.audit import AuditEntry, AuditKind
from cobuild_access.domain.delegation import (
    BOOTSTRAP_ROLES,
    DIRECTORY_ROLES,
    refusal_to_grant,
    refusal_to_revoke,
)
from cobuild_access.settings import AccessRuntime
from cobuild_access.store import grants, parties
from cobuild_access.usecases.actors import grantor, require_live
from cobuild_access.usecases.audit import by, record, refusals_recorded

Emit = Callable[[Event], Awaitable[Envelope]]

SUPERVISORS = frozenset({Role.DISTRICT_ADMIN, Role.STREET_ADMIN})
OWN_PARTY_ADMINS = frozenset({Role.COMMUNITY_ADMIN, Role.UNIT_ADMIN})


async def add(
    conn: asyncpg.Connection,
    emit: Emit,
    *,
    subject: str,
    role: Role,
    party_id: UUID,
    granted_by: str,
    at: datetime,
    origin: str,
    audit: AuditEntry,
    grant_id: UUID | None = None,
    invitation_id: UUID | None = None,
) -> asyncpg.Record | None:
    """A new live grant, its `grant.added` and its audit record; None if the subject already
    holds it (nothing written)."""
    grant_id = grant_id or uuid7()
    added = await grants.insert(
        conn,
        grant_id=grant_id,
        subject=subject,
        role=role,
        party_id=party_id,
        granted_by=granted_by,
        granted_at=at,
        origin=origin,
        invitation_id=invitation_id,
    )
    if not added:
        return None
    await emit(
        GrantAdded(
            grant_id=grant_id,
            subject=subject,
            role=role,
            party_id=party_id,
            granted_by=granted_by,
            granted_at=at,
        )
    )
    await record(conn, _about(audit, grant_id, subject, role, party_id, detail=f"origin {origin}"))
    return await grants.get(conn, grant_id)


async def remove(
    conn: asyncpg.Connection,
    emit: Emit,
    row: asyncpg.Record,
    *,
    revoked_by: str,
    at: datetime,
    reason: str,
    audit: AuditEntry,
) -> None:
    """Revoke a live grant: the row, `grant.revoked` and the audit record together."""
    role = Role(row["role"])
    await grants.revoke(conn, row["grant_id"], by=revoked_by, at=at, reason=reason)
    await emit(
        GrantRevoked(
            grant_id=row["grant_id"],
            subject=row["subject"],
            role=role,
            party_id=row["party_id"],
            revoked_by=revoked_by,
            revoked_at=at,
            reason=reason,
        )
    )
    await record(
        conn, _about(audit, row["grant_id"], row["subject"], role, row["party_id"], detail=reason)
    )


def _about(
    entry: AuditEntry, grant_id: UUID, subject: str, role: Role, party_id: UUID, *, detail: str
) -> AuditEntry:
    return AuditEntry(
        kind=entry.kind,
        at=entry.at,
        actor=entry.actor,
        actor_role=entry.actor_role,
        actor_party=entry.actor_party,
        subject=subject,
        role=role.value,
        party_id=party_id,
        grant_id=grant_id,
        invitation_id=entry.invitation_id,
        outcome=entry.outcome,
        detail=entry.detail or detail,
    )


def already_held(
    subject: str, role: Role, party_id: UUID, existing: asyncpg.Record | None
) -> Conflict:
    which = f" (grant {existing['grant_id']})" if existing is not None else ""
    return Conflict(f"{subject} already holds {role.value} for {party_id}{which}")


async def grant(
    rt: AccessRuntime, actor: Actor, *, subject: str, role: Role, party_id: UUID
) -> asyncpg.Record:
    """A grant by the delegation rules; 403 with the reason where they do not allow it."""
    async with (
        refusals_recorded(rt, actor, "grant", subject=subject, role=role.value, party_id=party_id),
        rt.unit_of_work() as uow,
    ):
        await require_live(uow.conn, actor)
        target = await parties.target(uow.conn, party_id)
        if target.kind is None and role in DIRECTORY_ROLES:
            raise Invalid(
                f"party {party_id} is not in the parties directory", field="body.party_id"
            )
        if why := refusal_to_grant(grantor(actor), role, target):
            raise Forbidden(why)
        now = rt.clock.now()
        row = await add(
            uow.conn,
            uow.emit,
            subject=subject,
            role=role,
            party_id=party_id,
            granted_by=actor.subject,
            at=now,
            origin="delegated",
            audit=by(actor, AuditKind.GRANT_ADDED, rt),
        )
        if row is None:
            raise already_held(
                subject, role, party_id, await grants.live(uow.conn, subject, role, party_id)
            )
        return row


async def bootstrap(
    rt: AccessRuntime, actor: Actor, *, subject: str, role: Role, party_id: UUID
) -> asyncpg.Record:
    """The first district admin and the operators: outside the delegation rules, by an
    operator only (`cobuild access grant`), and audited as such."""
    async with refusals_recorded(
        rt, actor, "bootstrap a grant", subject=subject, role=role.value, party_id=party_id
    ):
        if actor.role is not Role.OPERATOR:
            raise Forbidden("only an operator bootstraps grants (cobuild access grant)")
        if role not in BOOTSTRAP_ROLES:
            raise Invalid(
                f"the bootstrap grants only {', '.join(sorted(r.value for r in BOOTSTRAP_ROLES))}; "
                f"{role.value} is granted through the delegation rules",
                field="body.role",
            )
        async with rt.unit_of_work() as uow:
            await require_live(uow.conn, actor)
            if role is Role.DISTRICT_ADMIN:
                target = await parties.target(uow.conn, party_id)
                if target.kind is not PartyKind.DISTRICT:
                    known = (
                        "not in the parties directory"
                        if target.kind is None
                        else f"a {target.kind.value}"
                    )
                    raise Invalid(
                        f"party {party_id} is {known}, not a district", field="body.party_id"
                    )
            now = rt.clock.now()
            row = await add(
                uow.conn,
                uow.emit,
                subject=subject,
                role=role,
                party_id=party_id,
                granted_by=actor.subject,
                at=now,
                origin="bootstrap",
                audit=by(actor, AuditKind.GRANT_BOOTSTRAPPED, rt),
            )
            if row is None:
                raise already_held(
                    subject, role, party_id, await grants.live(uow.conn, subject, role, party_id)
                )
            return row


async def revoke(rt: AccessRuntime, actor: Actor, grant_id: UUID, reason: str) -> asyncpg.Record:
    async with (
        refusals_recorded(rt, actor, "revoke a grant", grant_id=grant_id),
        rt.unit_of_work() as uow,
    ):
        await require_live(uow.conn, actor)
        row = await grants.get(uow.conn, grant_id, lock=True)
        if row is None:
            raise NotFound(f"no grant {grant_id}")
        target = await parties.target(uow.conn, row["party_id"])
        why = refusal_to_revoke(grantor(actor), row["subject"], Role(row["role"]), target)
        if why:
            raise Forbidden(why)
        if row["revoked_at"] is not None:
            raise Conflict(
                f"grant {grant_id} is already revoked (at {row['revoked_at'].isoformat()})"
            )
        await remove(
            uow.conn,
            uow.emit,
            row,
            revoked_by=actor.subject,
            at=rt.clock.now(),
            reason=reason,
            audit=by(actor, AuditKind.GRANT_REVOKED, rt),
        )
        updated = await grants.get(uow.conn, grant_id)
        assert updated is not None
        return updated


async def mine(rt: AccessRuntime, actor: Actor) -> list[asyncpg.Record]:
    """The actor's live grants, with their parties' names, for a role switch. Any token of
    the subject (a person token too) lists them."""
    async with rt.pool.acquire() as conn:
        return await grants.of_subject(conn, actor.subject)


async def visible_parties(
    conn: asyncpg.Connection, actor: Actor, party_id: UUID | None
) -> list[UUID] | None:
    """The parties whose grants (and invitations) `actor` may list: the operator every one
    (None), a supervisor its subtree, a community or unit admin its own party. A party named
    outside that answers 404, as for one that does not exist."""
    if actor.role is Role.OPERATOR:
        return [party_id] if party_id else None
    if actor.role in SUPERVISORS:
        scope = await parties.below(conn, actor.party_id)
    elif actor.role in OWN_PARTY_ADMINS:
        scope = [actor.party_id]
    else:
        raise Forbidden(f"{actor.role.value} may not list grants (an admin does)")
    if party_id is None:
        return scope
    if party_id not in scope:
        raise NotFound(f"party {party_id} is not in your scope")
    return [party_id]


async def listed(
    rt: AccessRuntime,
    actor: Actor,
    *,
    party_id: UUID | None,
    role: Role | None,
    include_revoked: bool,
    limit: int,
    offset: int,
) -> tuple[list[asyncpg.Record], int]:
    async with (
        refusals_recorded(rt, actor, "list grants", party_id=party_id),
        rt.pool.acquire() as conn,
    ):
        await require_live(conn, actor)
        scope = await visible_parties(conn, actor, party_id)
        return await grants.for_parties(
            conn, scope, include_revoked=include_revoked, role=role, limit=limit, offset=offset
        )
