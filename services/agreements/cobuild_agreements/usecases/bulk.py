"""Bulk commands: many list entries (a community's needs, a unit's resources) for one owner in
one request, all or none.

Every item is checked before anything is written (one transaction; the authority is the
owner's, so it is checked once); any refused item refuses the whole request, naming each
refused item and field, and nothing is written, no event either. A retry with the same
Idempotency-Key gets the stored answer (the kit); an item that names its own id (`need_id`,
`resource_id`) can also be re-sent without one: an entry already published from the same item
is answered as it stands, not published again.

`publish_all` is the all-or-none loop both kinds share; `publish_needs` (here) and
`bulk_resources.offer_resources` say what differs: the rules, the store, the matcher.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

import asyncpg
from cobuild_contracts import NeedPublished, ResourceOffered
from cobuild_kit.auth import Actor
from cobuild_kit.errors import CobuildError, Conflict, Invalid
from pydantic import BaseModel, ConfigDict, Field

from cobuild_agreements.domain.privacy import FieldFinding, scan_fields
from cobuild_agreements.settings import AgreementsRuntime
from cobuild_agreements.store import lists
from cobuild_agreements.usecases import access, matchmaking
from cobuild_agreements.usecases.needs import NeedFields, publish_need, require_community
from cobuild_agreements.usecases.rules import list_rules, now_and_today

MAX_ITEMS = 1000  # per request: a community's year of needs fits, and one transaction stays short

Item = TypeVar("Item", bound=BaseModel)  # a bulk item
E = TypeVar("E", NeedPublished, ResourceOffered)  # the event publishing one


class BulkNeed(NeedFields):
    # Optional: an id of the client's own (a UUID it minted), so that re-sending the same
    # item is harmless even without the Idempotency-Key.
    need_id: UUID | None = None


class BulkNeedsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[BulkNeed] = Field(min_length=1, max_length=MAX_ITEMS)


@dataclass(frozen=True)
class ItemRefusal:
    index: int
    field: str  # the whole path: body.items.3.wanted_by
    message: str
    conflict: bool = False  # the item clashes with what is stored, rather than being bad


class BulkRejected(Invalid):
    """Any refused item refuses the request; the refusal names every refused item. It is a
    conflict (409) when every refused item clashes with a stored entry, else bad input (422)."""

    code = "bulk_rejected"

    def __init__(self, refusals: Sequence[ItemRefusal], total: int) -> None:
        super().__init__(
            f"{len(refusals)} of {total} item(s) refused; nothing was published",
            field="body.items",
        )
        self.refusals = list(refusals)
        self.conflict = all(r.conflict for r in refusals)


@dataclass(frozen=True)
class BulkPublished:
    index: int
    item_id: UUID  # the need's or resource's id
    version: int
    personal: tuple[FieldFinding, ...] = ()  # personal data found in the item's text


def _refusal(index: int, exc: CobuildError) -> ItemRefusal:
    field = exc.field or f"body.items.{index}"
    return ItemRefusal(index, field, exc.message, conflict=isinstance(exc, Conflict))


@dataclass(frozen=True)
class EntryKind(Generic[Item, E]):
    """What a bulk command of one kind of list entry does that the other's does not. The
    callables run inside the command's transaction; `prefix` is `body.items.<n>.`."""

    noun: str  # need, resource: in messages
    id_field: str  # the item's own id: need_id
    owner_field: str  # the stored entry's owner: community_id
    published: str  # the verb for a stored entry: published, offered
    revise: str  # how to change a stored entry: PUT /needs/{}
    lock: Callable[[list[UUID]], Awaitable[None]]  # serialise client-minted ids
    first_versions: Callable[[list[UUID]], Awaitable[Mapping[UUID, asyncpg.Record]]]
    check: Callable[[Item, str], Awaitable[None]]  # the rules, before anything is written
    publish: Callable[[Item, UUID | None, str], Awaitable[tuple[E, list[FieldFinding]]]]
    match: Callable[[E], Awaitable[object]]  # after every item is published


async def publish_all(
    kind: EntryKind[Item, E], owner_id: UUID, items: Sequence[Item]
) -> list[BulkPublished]:
    """Publish every item (each then matched), or none: raises BulkRejected naming every
    refused item. An item with an id of its own that was published from the same content is
    answered as it stands."""
    named = [i for i in (_id_of(kind, item) for item in items) if i is not None]
    if named:  # a concurrent re-send of the same items waits, then finds them published
        await kind.lock(named)
    existing = await kind.first_versions(named) if named else {}
    refusals: list[ItemRefusal] = []
    already: dict[int, BulkPublished] = {}
    seen: set[UUID] = set()
    for n, item in enumerate(items):
        where = f"body.items.{n}"
        try:
            await kind.check(item, f"{where}.")
            own = _id_of(kind, item)
            if own is None:
                continue
            if own in seen:
                raise Invalid(f"{kind.noun} {own} is named twice", field=f"{where}.{kind.id_field}")
            seen.add(own)
            found = existing.get(own)
            if found is None:
                continue
            if found[kind.owner_field] != owner_id or not _same(kind, item, found["snapshot"]):
                raise Conflict(
                    f"{kind.noun} {own} exists ({found['status']}, version "
                    f"{found['version']}) with other content; revise it with "
                    f"{kind.revise.format(own)}",
                    field=f"{where}.{kind.id_field}",
                )
            text = item.model_dump(include={"title", "description"})
            personal = scan_fields(text, f"{where}.")[1]
            already[n] = BulkPublished(n, own, found["version"], tuple(personal))
        except CobuildError as exc:
            refusals.append(_refusal(n, exc))
    if refusals:
        raise BulkRejected(refusals, len(items))
    out: list[BulkPublished] = []
    published: list[E] = []
    for n, item in enumerate(items):
        if n in already:
            out.append(already[n])
            continue
        own = _id_of(kind, item)
        try:
            event, personal = await kind.publish(item, own, f"body.items.{n}.")
        except asyncpg.UniqueViolationError:
            # Only an id of the client's own can clash, and the lock above serialises those:
            # this is the backstop (nothing is written, the transaction rolls back).
            clash = Conflict(
                f"{kind.noun} {own} was {kind.published} by a concurrent command; send the "
                "item again to read it",
                field=f"body.items.{n}.{kind.id_field}",
            )
            raise BulkRejected([_refusal(n, clash)], len(items)) from None
        published.append(event)
        out.append(BulkPublished(n, _event_id(event), event.version, tuple(personal)))
    for event in published:
        await kind.match(event)
    return out


def _id_of(kind: EntryKind[Any, Any], item: BaseModel) -> UUID | None:
    own = getattr(item, kind.id_field)
    return own if isinstance(own, UUID) else None


def _event_id(event: NeedPublished | ResourceOffered) -> UUID:
    return event.need_id if isinstance(event, NeedPublished) else event.resource_id


def _same(kind: EntryKind[Any, Any], item: BaseModel, first: dict[str, object]) -> bool:
    """Whether the item says what the entry's first version said (a re-sent item)."""
    said = item.model_dump(mode="json", exclude={kind.id_field})
    return all(first.get(k) == v for k, v in said.items())


# --- needs -----------------------------------------------------------------------------


async def publish_needs(
    rt: AgreementsRuntime, actor: Actor, community_id: UUID, items: Sequence[BulkNeed]
) -> list[BulkPublished]:
    """Publish every item as a need of the community (each matched), or none of them."""
    now, today = now_and_today(rt)
    rules = list_rules(rt)
    async with rt.unit_of_work() as uow:
        conn = uow.conn
        await access.may_publish_needs(conn, actor, community_id)
        await require_community(conn, community_id)

        async def check(item: BulkNeed, prefix: str) -> None:
            rules.need(item.category, item.wanted_by, prefix)

        async def publish(
            item: BulkNeed, need_id: UUID | None, prefix: str
        ) -> tuple[NeedPublished, list[FieldFinding]]:
            fields = NeedFields.model_validate(item.model_dump(exclude={"need_id"}))
            return await publish_need(
                uow, fields, community_id, rules, now, need_id=need_id, prefix=prefix
            )

        async def match(event: NeedPublished) -> object:
            return await matchmaking.for_need(
                uow, event.need_id, today, now, rt.settings.match_top_n
            )

        kind: EntryKind[BulkNeed, NeedPublished] = EntryKind(
            noun="need",
            id_field="need_id",
            owner_field="community_id",
            published="published",
            revise="PUT /needs/{}",
            # looked up now, not at import: a test replaces the lock to reach the backstop
            lock=lambda ids: lists.lock_need_ids(conn, ids),
            first_versions=lambda ids: lists.first_versions(conn, ids),
            check=check,
            publish=publish,
            match=match,
        )
        return await publish_all(kind, community_id, items)
