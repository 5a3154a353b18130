"""The token exchange: a provider token (a person's ID or access token, an integration's
client-credentials token) for a Cobuild token of one of the subject's grants, or a `person`
token when no grant is named (ARCHITECTURE.md, "Tokens"). Sign-ins and exchanges, refused
ones too, are audited."""

from __future__ import annotations

from dataclasses import dataclass, replace
from uuid import UUID

from cobuild_contracts import Role
from cobuild_kit.errors import CobuildError, Forbidden, NotFound, Unavailable
from cobuild_kit.logging import get_logger

from cobuild_access.domain.audit import AuditEntry, AuditKind, Outcome
from cobuild_access.domain.identity import Identity, person_party
from cobuild_access.settings import AccessRuntime
from cobuild_access.store import audit as audit_store
from cobuild_access.store import grants
from cobuild_access.usecases.audit import record_apart
from cobuild_access.usecases.keys import ensure_loaded
from cobuild_access.wiring import parts_of

log = get_logger(__name__)
UNKNOWN = "unknown"  # the actor of an exchange whose provider token did not verify


@dataclass(frozen=True)
class Exchanged:
    access_token: str
    expires_in: int
    role: Role
    party_id: UUID
    grant_id: UUID | None


async def exchange(
    rt: AccessRuntime, subject_token: str, grant_id: UUID | None, *, client: str | None
) -> Exchanged:
    parts = parts_of(rt)
    base = AuditEntry(
        kind=AuditKind.EXCHANGE, at=rt.clock.now(), actor=UNKNOWN, grant_id=grant_id,
        extra={"client": client} if client else {},
    )  # fmt: skip
    try:
        identity = await parts.provider.identify(subject_token)
    except CobuildError as exc:
        await record_apart(rt, replace(base, outcome=Outcome.REFUSED, detail=exc.message))
        log.info("exchange.refused", reason=exc.message, grant_id=str(grant_id))
        raise
    entry = replace(base, actor=identity.subject, subject=identity.subject)
    try:
        return await _issue(rt, identity, grant_id, entry)
    except CobuildError as exc:
        await record_apart(rt, replace(entry, outcome=Outcome.REFUSED, detail=exc.message))
        log.info("exchange.refused", reason=exc.message, subject=identity.subject)
        raise


async def _issue(
    rt: AccessRuntime, identity: Identity, grant_id: UUID | None, entry: AuditEntry
) -> Exchanged:
    ring = parts_of(rt).keys
    await ensure_loaded(rt)
    async with rt.unit_of_work() as uow:
        conn = uow.conn
        await grants.remember_holder(conn, identity.subject, identity.display_name, entry.at)
        if grant_id is None:
            role, party_id = Role.PERSON, person_party(identity.subject)
        else:
            row = await grants.get(conn, grant_id)
            if row is None or row["subject"] != identity.subject:
                raise NotFound(f"you hold no grant {grant_id}")
            if row["revoked_at"] is not None:
                raise Forbidden(
                    f"grant {grant_id} was revoked at {row['revoked_at'].isoformat()}: "
                    f"{row['revoke_reason']}"
                )
            role, party_id = Role(row["role"]), row["party_id"]
        # A sign-in is recorded once for each role and party a provider session acts as, so
        # the admins of that party read it (the first exchange is mostly a person token's).
        acting = f"{role.value}:{party_id}"
        if await audit_store.mark_sign_in(
            conn, identity.subject, identity.session, acting, entry.at
        ):
            await audit_store.append(
                conn,
                replace(
                    entry,
                    kind=AuditKind.SIGN_IN,
                    role=role.value,
                    party_id=party_id,
                    detail=f"at {identity.issuer}"
                    + (" (client credentials)" if identity.client else ""),
                ),
            )
        issued = ring.sign(
            subject=identity.subject, role=role, party_id=party_id, grant_id=grant_id
        )
        if issued is None:
            raise Unavailable("no signing key yet (the first key is being made): retry")
        await audit_store.append(
            conn,
            replace(entry, role=role.value, party_id=party_id, detail=f"kid {issued.kid}"),
        )
    return Exchanged(issued.token, issued.expires_in, role, party_id, grant_id)
