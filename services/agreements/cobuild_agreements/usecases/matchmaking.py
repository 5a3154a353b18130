"""Runs the matcher when a need or a resource is published: store the ranking, announce it.

The callers run it in the transaction that published the need or offered the resource.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

from cobuild_contracts import MatchSuggested
from cobuild_kit.service import UnitOfWork

from cobuild_agreements.domain import matching
from cobuild_agreements.store import lists, matches, parties


async def for_need(
    uow: UnitOfWork, need_id: UUID, today: date, now: datetime, top: int
) -> list[matching.Suggestion]:
    conn = uow.conn
    need = lists.need_view(await lists.get_need(conn, need_id))
    place = await parties.place_of(conn, need.community_id)
    candidates = [
        (lists.resource_view(row), await parties.reach_of(conn, row["unit_id"]))
        for row in await lists.offered_like(conn, need.category, need.kind)
    ]
    found = matching.resources_for(need, place, candidates, today, top)
    await matches.replace_for_need(conn, need_id, found, now)
    await _announce(uow, found, now)
    return found


async def for_resource(
    uow: UnitOfWork, resource_id: UUID, today: date, now: datetime, top: int
) -> list[matching.Suggestion]:
    conn = uow.conn
    resource = lists.resource_view(await lists.get_resource(conn, resource_id))
    reach = await parties.reach_of(conn, resource.unit_id)
    candidates = [
        (lists.need_view(row), await parties.place_of(conn, row["community_id"]))
        for row in await lists.published_like(conn, resource.category, resource.kind)
    ]
    found = matching.needs_for(resource, reach, candidates, today, top)
    await matches.replace_for_resource(conn, resource_id, found, now)
    await _announce(uow, found, now)
    return found


async def _announce(uow: UnitOfWork, found: Sequence[matching.Suggestion], now: datetime) -> None:
    for rank, s in enumerate(found, start=1):
        await uow.emit(
            MatchSuggested(
                need_id=s.need_id,
                resource_id=s.resource_id,
                community_id=s.community_id,
                unit_id=s.unit_id,
                rank=rank,
                score=s.score,
                reasons=list(s.reasons),
                suggested_at=now,
            )
        )
