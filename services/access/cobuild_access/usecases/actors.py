"""Who acts here: the access service is the home of grants, so a token naming a grant is
checked against the grant itself (no waiting for the revocation event)."""

from __future__ import annotations

import asyncpg
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Unauthorized

from cobuild_access.domain.delegation import Grantor
from cobuild_access.store import grants


async def require_live(conn: asyncpg.Connection, actor: Actor) -> None:
    """A token exchanged for a grant acts only while that grant lives and says the same."""
    if actor.grant_id is None:
        return  # a person token, or a development token (`cobuild token`)
    row = await grants.get(conn, actor.grant_id)
    if (
        row is None
        or row["subject"] != actor.subject
        or row["role"] != actor.role.value
        or row["party_id"] != actor.party_id
    ):
        raise Unauthorized(f"the token's grant {actor.grant_id} does not exist")
    if row["revoked_at"] is not None:
        raise Unauthorized(f"the token's grant {actor.grant_id} has been revoked")


def grantor(actor: Actor) -> Grantor:
    return Grantor(actor.subject, actor.role, actor.party_id)
