"""Who may do what to a commitment, and the domain's refusals as the errors a caller sees.

The obligor party's admin claims and reports; the beneficiary party's admin confirms (in a
two-way agreement either party may be the obligor); the two parties and the street/district
admins above them read (and download evidence).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

import asyncpg
from cobuild_contracts import Role
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Conflict, Forbidden, Invalid
from cobuild_kit.parties import SUPERVISORS, authorize, subtree

from cobuild_commitments.domain.commitment import (
    AssignedMemberConfirms,
    Commitment,
    IllegalTransition,
    RuleViolation,
)


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
    conn: asyncpg.Connection, actor: Actor, c: Commitment, action: str = "read this commitment"
) -> None:
    try:
        party = c.obligor_party_id
        await authorize(
            conn, actor, party, roles={admin_role(c, party)}, supervisors_may=True, action=action
        )
    except Forbidden:
        party = c.beneficiary_party_id
        await authorize(
            conn, actor, party, roles={admin_role(c, party)}, supervisors_may=True, action=action
        )


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
