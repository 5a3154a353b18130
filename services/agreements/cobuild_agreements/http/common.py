"""What every router here needs: business today, the rules in force, who acts for which side."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast
from uuid import UUID

import asyncpg
from cobuild_contracts import Role
from cobuild_kit.auth import Actor
from cobuild_kit.clock import business_date
from cobuild_kit.errors import Forbidden
from cobuild_kit.parties import authorize
from cobuild_kit.service import Runtime

from cobuild_agreements.domain.drafts import DraftRules
from cobuild_agreements.domain.lists import ListRules
from cobuild_agreements.settings import AgreementsSettings

ADMIN_OF_KIND = {"community": Role.COMMUNITY_ADMIN, "unit": Role.UNIT_ADMIN}


def settings(rt: Runtime) -> AgreementsSettings:
    return cast(AgreementsSettings, rt.settings)


def now_and_today(rt: Runtime) -> tuple[datetime, date]:
    now = rt.clock.now()
    return now, business_date(now)


def list_rules(rt: Runtime) -> ListRules:
    return ListRules(frozenset(settings(rt).categories), now_and_today(rt)[1])


def draft_rules(rt: Runtime, community_id: UUID, unit_id: UUID) -> DraftRules:
    return DraftRules(
        frozenset({community_id, unit_id}), frozenset(settings(rt).categories), now_and_today(rt)[1]
    )


def acting_side(actor: Actor, community_id: UUID, unit_id: UUID, action: str) -> UUID:
    """The party of the agreement the actor acts for: only a party's own admin acts for it."""
    if actor.role is Role.COMMUNITY_ADMIN and actor.party_id == community_id:
        return community_id
    if actor.role is Role.UNIT_ADMIN and actor.party_id == unit_id:
        return unit_id
    raise Forbidden(
        f"{actor.role.value} of {actor.party_id} may not {action}: only the admins of "
        f"community {community_id} or unit {unit_id} may"
    )


async def may_read_pair(
    conn: asyncpg.Connection, actor: Actor, community_id: UUID, unit_id: UUID, what: str
) -> None:
    """Either party's own admins, or supervisors above either party."""
    try:
        await authorize(
            conn,
            actor,
            community_id,
            roles={Role.COMMUNITY_ADMIN},
            supervisors_may=True,
            action=f"read {what}",
        )
    except Forbidden:
        await authorize(
            conn,
            actor,
            unit_id,
            roles={Role.UNIT_ADMIN},
            supervisors_may=True,
            action=f"read {what}",
        )


def plain(row: asyncpg.Record, *skip: str) -> dict[str, Any]:
    return {k: v for k, v in dict(row).items() if k not in skip}
