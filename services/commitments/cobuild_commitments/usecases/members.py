"""Who may be assigned to a commitment or take part in it: the obligor's registered members.

The points service owns members; this service keeps their ids, unit and community from
points.events.v1 (member.reported, member.transferred, member.left) in its `members` table,
and accepts as assignees and participants only members currently registered with the
obligor party: a unit's own members, or the members serving in a community, who have not
left. The read model follows the points service by a moment, so a member accepted a moment
ago may not be here yet: the refusal says "not (yet)", and a retry succeeds once it arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg
from cobuild_contracts import Envelope
from cobuild_contracts.events.points import MemberLeft, MemberReported, MemberTransferred
from cobuild_kit.errors import Invalid
from cobuild_kit.logging import get_logger

from cobuild_commitments.domain.commitment import Commitment
from cobuild_commitments.store import members

log = get_logger(__name__)

# How many further refused items a refusal's message names after the first.
_NAMED = 10


async def reported_many(
    conn: asyncpg.Connection, items: Sequence[tuple[Envelope, MemberReported]]
) -> None:
    await members.reported_many(conn, [(e.member_id, e.unit_id, e.community_id) for _, e in items])


async def transferred(conn: asyncpg.Connection, event: MemberTransferred) -> None:
    await members.transferred(conn, event.member_id, event.unit_id, event.to_community_id)


async def left(conn: asyncpg.Connection, event: MemberLeft) -> None:
    await members.left(conn, event.member_id, event.left_at)


def obligor_kind(c: Commitment) -> str:
    return "unit" if c.obligor_party_id == c.unit_id else "community"


async def require_registered(
    conn: asyncpg.Connection, c: Commitment, member_ids: Sequence[UUID], field: str
) -> None:
    """Refuse (422) unless every member is currently registered with the obligor party.

    `field` is the list's field with `{}` for the item's index (`body.member_ids.{}`,
    `body.participants.{}.member_id`); the refusal names the first failing item, and the
    message the others."""
    if not member_ids:
        return
    kind = obligor_kind(c)
    party = c.obligor_party_id
    current = await members.current_of(conn, member_ids, party, unit=kind == "unit")
    failing = [(n, m) for n, m in enumerate(member_ids) if m not in current]
    if not failing:
        return
    (first, member), rest = failing[0], failing[1:]
    message = f"member {member} is not (yet) a registered member of {kind} {party}"
    if rest:
        named = ", ".join(field.format(n) for n, _ in rest[:_NAMED])
        more = f" and {len(rest) - _NAMED} more" if len(rest) > _NAMED else ""
        message += f"; nor are {named}{more}"
    log.warning(
        "commitment.members_refused",
        commitment_id=str(c.commitment_id),
        obligor=str(party),
        field=field.format(first),
        refused=len(failing),
        of=len(member_ids),
    )
    raise Invalid(message, field=field.format(first))
