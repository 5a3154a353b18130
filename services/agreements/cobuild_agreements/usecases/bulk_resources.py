"""Bulk offering of a unit's resources list, all or none (the loop is bulk.publish_all's).

Each item is what POST /resources takes without `unit_id`; the communities an item is limited
to are checked with its rules, before anything is written, so that every bad item is named.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from cobuild_contracts import PartyKind, ResourceOffered
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Invalid, NotFound
from pydantic import BaseModel, ConfigDict, Field

from cobuild_agreements.domain.privacy import FieldFinding
from cobuild_agreements.settings import AgreementsRuntime
from cobuild_agreements.store import lists, parties
from cobuild_agreements.usecases import access, matchmaking
from cobuild_agreements.usecases.bulk import MAX_ITEMS, BulkPublished, EntryKind, publish_all
from cobuild_agreements.usecases.resources import ResourceFields, offer_in
from cobuild_agreements.usecases.rules import list_rules, now_and_today


class BulkResource(ResourceFields):
    # Optional: an id of the client's own (a UUID it minted), so that re-sending the same
    # item is harmless even without the Idempotency-Key.
    resource_id: UUID | None = None


class BulkResourcesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[BulkResource] = Field(min_length=1, max_length=MAX_ITEMS)


async def offer_resources(
    rt: AgreementsRuntime, actor: Actor, unit_id: UUID, items: Sequence[BulkResource]
) -> list[BulkPublished]:
    """Offer every item as a resource of the unit (each matched), or none of them."""
    now, today = now_and_today(rt)
    rules = list_rules(rt)
    async with rt.unit_of_work() as uow:
        conn = uow.conn
        await access.may_offer(conn, actor, unit_id)
        unit = await parties.get(conn, unit_id)
        if unit is None or unit.kind is not PartyKind.UNIT:
            raise NotFound(f"unit {unit_id} is not registered")
        communities: dict[UUID, bool] = {}  # asked once each, however many items name one

        async def check(item: BulkResource, prefix: str) -> None:
            rules.resource(item.category, item.available_from, item.available_until, prefix)
            for n, cid in enumerate(item.community_ids):
                if cid not in communities:
                    party = await parties.get(conn, cid)
                    communities[cid] = party is not None and party.kind is PartyKind.COMMUNITY
                if not communities[cid]:
                    raise Invalid(
                        f"{cid} is not a registered community", field=f"{prefix}community_ids.{n}"
                    )

        async def offer(
            item: BulkResource, resource_id: UUID | None, prefix: str
        ) -> tuple[ResourceOffered, list[FieldFinding]]:
            fields = ResourceFields.model_validate(item.model_dump(exclude={"resource_id"}))
            return await offer_in(
                uow, fields, unit_id, rules, now, resource_id=resource_id, prefix=prefix
            )

        async def match(event: ResourceOffered) -> object:
            return await matchmaking.for_resource(
                uow, event.resource_id, today, now, rt.settings.match_top_n
            )

        kind: EntryKind[BulkResource, ResourceOffered] = EntryKind(
            noun="resource",
            id_field="resource_id",
            owner_field="unit_id",
            published="offered",
            revise="PUT /resources/{}",
            lock=lambda ids: lists.lock_resource_ids(conn, ids),
            first_versions=lambda ids: lists.first_resource_versions(conn, ids),
            check=check,
            publish=offer,
            match=match,
        )
        return await publish_all(kind, unit_id, items)
