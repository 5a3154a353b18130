"""Who may do what to a commitment, and the domain's refusals as the errors a caller sees.

The obligor party's admin claims and reports; the beneficiary party's admin confirms (in a
two-way agreement either party may be the obligor); the two parties and the street/district
admins above them read (and download evidence). An expert the evaluation service assigned to
the commitment reads it and its evidence, nothing else (not its history; no command). A read
refused answers 404, as for an id that does not exist; a command refused answers 403 with the
reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

import asyncpg
from cobuild_contracts import Role
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Conflict, Forbidden, Invalid, NotFound
from cobuild_kit.logging import get_logger
from cobuild_kit.parties import SUPERVISORS, authorize, subtree

from cobuild_commitments.domain.commitment import (
    AssignedMemberConfirms,
    Commitment,
    IllegalTransition,
    RuleViolation,
)
from cobuild_commitments.store import experts

log = get_logger(__name__)


def admin_role(c: Commitment, party_id: UUID) -> Role:
    """A party acts through its admin: a unit's unit_admin, a community's community_admin."""
    return Role.UNIT_ADMIN if party_id == c.unit_id else Role.COMMUNITY_ADMIN


async def as_obligor(conn: asyncpg.Connection, actor: Actor, c: Commitment, action: str) -> None:
    party = c.obligor_party_id
    await authorize(conn, actor, party, roles={admin_role(c, party)}, action=action)


async def as_beneficiary(
    conn: asyncpg.Connection, actor: Actor, c: Commitment, action: str
) -> None:
    party = c.beneficiary_party_id
    await authorize(conn, actor, party, roles={admin_role(c, party)}, action=action)


async def as_reader(
    conn: asyncpg.Connection,
    actor: Actor,
    c: Commitment,
    action: str = "read this commitment",
    *,
    experts_may: bool = False,
) -> None:
    """Either party's admin, or a street/district admin above either, may read; with
    `experts_may`, so may an expert assigned to the commitment (the commitment itself and its
    evidence, never its history). Anyone else gets the 404 a commitment that does not exist
    gets: a read must not tell a stranger that the id is real (ARCHITECTURE.md, "Commands in,
    facts out")."""
    with hidden(f"no commitment {c.commitment_id}", field="path.commitment_id"):
        if actor.role is Role.EXPERT:
            if experts_may and await experts.is_assigned(conn, actor.party_id, c.commitment_id):
                return
            raise Forbidden(
                f"expert {actor.party_id} may not {action}: not assigned to this commitment"
                if experts_may
                else f"an expert may not {action}"
            )
        try:
            party = c.obligor_party_id
            await authorize(
                conn,
                actor,
                party,
                roles={admin_role(c, party)},
                supervisors_may=True,
                action=action,
            )
        except Forbidden:
            party = c.beneficiary_party_id
            await authorize(
                conn,
                actor,
                party,
                roles={admin_role(c, party)},
                supervisors_may=True,
                action=action,
            )


@contextmanager
def hidden(message: str, *, field: str) -> Iterator[None]:
    """A read refused as Forbidden answers NotFound(`message`), word for word what the caller
    says for a thing that does not exist. The kit logs 403s and not 404s, so the refusal and
    its reason are logged here."""
    try:
        yield
    except Forbidden as exc:
        log.warning("request.refused_as_not_found", reason=exc.message, field=field)
        raise NotFound(message, field=field) from exc


async def visible_parties(conn: asyncpg.Connection, actor: Actor) -> list[UUID]:
    """The parties whose commitments `actor` may list: its own, or its subtree."""
    if actor.role in (Role.UNIT_ADMIN, Role.COMMUNITY_ADMIN):
        return [actor.party_id]
    if actor.role in SUPERVISORS:
        return sorted(await subtree(conn, actor.party_id))
    raise Forbidden(f"role {actor.role.value} may not list commitments")


@contextmanager
def domain_rules() -> Iterator[None]:
    """The domain's refusals as the kit's: illegal transition Conflict (409 at the HTTP edge),
    broken rule Invalid (422), an assigned member confirming Forbidden (403)."""
    try:
        yield
    except IllegalTransition as exc:
        raise Conflict(str(exc), field="status") from exc
    except RuleViolation as exc:
        raise Invalid(str(exc), field=exc.field) from exc
    except AssignedMemberConfirms as exc:
        raise Forbidden(str(exc)) from exc
