"""Bulk commands: many needs for one community in one request, all or none.

Every item is checked before anything is written (one transaction; the authority is the
community's, so it is checked once); any refused item refuses the whole request, naming each
refused item and field, and nothing is written, no event either. A retry with the same
Idempotency-Key gets the stored answer (the kit); an item that names its own `need_id` can
also be re-sent without one: a need already published from the same item is answered as it
stands, not published again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from cobuild_contracts import NeedPublished
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
    conflict (409) when every refused item clashes with a stored need, else bad input (422)."""

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
    need_id: UUID
    version: int
    personal: tuple[FieldFinding, ...] = ()  # personal data found in the item's text


def _refusal(index: int, exc: CobuildError) -> ItemRefusal:
    field = exc.field or f"body.items.{index}"
    return ItemRefusal(index, field, exc.message, conflict=isinstance(exc, Conflict))


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
        named = [i.need_id for i in items if i.need_id is not None]
        if named:  # a concurrent re-send of the same items waits, then finds them published
            await lists.lock_need_ids(conn, named)
        existing = await lists.first_versions(conn, named) if named else {}
        refusals: list[ItemRefusal] = []
        already: dict[int, BulkPublished] = {}
        seen: set[UUID] = set()
        for n, item in enumerate(items):
            where = f"body.items.{n}"
            try:
                rules.need(item.category, item.wanted_by, f"{where}.")
                if item.need_id is None:
                    continue
                if item.need_id in seen:
                    raise Invalid(f"need {item.need_id} is named twice", field=f"{where}.need_id")
                seen.add(item.need_id)
                found = existing.get(item.need_id)
                if found is None:
                    continue
                if found["community_id"] != community_id or not _same(item, found["snapshot"]):
                    raise Conflict(
                        f"need {item.need_id} exists ({found['status']}, version "
                        f"{found['version']}) with other content; revise it with "
                        f"PUT /needs/{item.need_id}",
                        field=f"{where}.need_id",
                    )
                personal = scan_fields(
                    {"title": item.title, "description": item.description}, f"{where}."
                )[1]
                already[n] = BulkPublished(n, item.need_id, found["version"], tuple(personal))
            except CobuildError as exc:
                refusals.append(_refusal(n, exc))
        if refusals:
            raise BulkRejected(refusals, len(items))
        out: list[BulkPublished] = []
        published: list[NeedPublished] = []
        for n, item in enumerate(items):
            if n in already:
                out.append(already[n])
                continue
            fields = NeedFields.model_validate(item.model_dump(exclude={"need_id"}))
            try:
                event, personal = await publish_need(
                    uow, fields, community_id, rules, now, need_id=item.need_id,
                    prefix=f"body.items.{n}.",
                )  # fmt: skip
            except asyncpg.UniqueViolationError:
                # Only a need id of the client's own can clash, and the lock above serialises
                # those: this is the backstop (nothing is written, the transaction rolls back).
                clash = Conflict(
                    f"need {item.need_id} was published by a concurrent command; send the "
                    "item again to read it",
                    field=f"body.items.{n}.need_id",
                )
                raise BulkRejected([_refusal(n, clash)], len(items)) from None
            published.append(event)
            out.append(BulkPublished(n, event.need_id, event.version, tuple(personal)))
        for event in published:
            await matchmaking.for_need(uow, event.need_id, today, now, rt.settings.match_top_n)
    return out


def _same(item: BulkNeed, first: dict[str, object]) -> bool:
    """Whether the item says what the need's first version said (a re-sent item)."""
    said = item.model_dump(mode="json", exclude={"need_id"})
    return all(first.get(k) == v for k, v in said.items())
