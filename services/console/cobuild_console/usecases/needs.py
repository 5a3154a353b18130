"""The community's needs list (需求清单): the list with its filters, publishing a need (the
service publishes on creation: there is no unpublished draft of a need), a need's page with
its versions and the units suggested for it, editing (a new version) and withdrawing."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.usecases.parties import names

STATUSES = ("published", "claimed", "withdrawn")
# Form inputs that carry a service field under another name.
RENAMED = {"funds_fen": "funds_yuan"}
FIELDS = frozenset(
    {
        "category",
        "kind",
        "title",
        "description",
        "quantity",
        "quantity_unit",
        "funds_yuan",
        "wanted_by",
        "beneficiaries",
        "visibility",
    }
)


@dataclass(frozen=True)
class Choice:
    code: str
    label: str


@dataclass
class Vocabularies:
    categories: list[Choice] = field(default_factory=list)
    kinds: list[Choice] = field(default_factory=list)
    visibility: list[Choice] = field(default_factory=list)

    def label(self, kind: str, code: str) -> str:
        return next((c.label for c in getattr(self, kind) if c.code == code), code)


_reference: tuple[float, dict[str, Any]] | None = None


async def reference(rt: ConsoleRuntime, token: str) -> dict[str, Any]:
    """The agreements service's reference data (codes with zh-CN and en labels), kept ten
    minutes: it changes with a deployment's configuration only."""
    global _reference
    if _reference is None or _reference[0] < time.monotonic():
        data = await rt.services.get("agreements", "/reference", token)
        _reference = (time.monotonic() + 600, data)
    return _reference[1]


def vocabularies(data: dict[str, Any], locale: str) -> Vocabularies:
    tag = "zh-CN" if locale.startswith("zh") else "en"

    def choices(name: str) -> list[Choice]:
        return [Choice(c["code"], c["labels"].get(tag) or c["code"]) for c in data.get(name, [])]

    return Vocabularies(choices("categories"), choices("need_kinds"), choices("visibility"))


async def listing(
    rt: ConsoleRuntime, token: str, community_id: str, status: str | None, offset: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    page, ref = await asyncio.gather(
        rt.services.get(
            "agreements",
            "/needs",
            token,
            community_id=community_id,
            status=status,
            limit=50,
            offset=offset,
        ),
        reference(rt, token),
    )
    return page, ref


async def publish(
    rt: ConsoleRuntime, token: str, community_id: str, fields: dict[str, Any], key: str
) -> dict[str, Any]:
    answer: dict[str, Any] = await rt.services.post(
        "agreements", "/needs", token, {"community_id": community_id, **fields}, idempotency_key=key
    )
    return answer


async def withdraw(
    rt: ConsoleRuntime, token: str, need_id: str, reason: str, key: str
) -> dict[str, Any]:
    answer: dict[str, Any] = await rt.services.post(
        "agreements", f"/needs/{need_id}/withdraw", token, {"reason": reason}, idempotency_key=key
    )
    return answer


async def every_need(rt: ConsoleRuntime, token: str, community_id: str) -> list[dict[str, Any]]:
    """All the community's needs (the page filters and sorts them: domain/needs_list.py)."""
    return await rt.services.every("agreements", "/needs", token, {"community_id": community_id})


@dataclass(frozen=True)
class NeedView:
    need: dict[str, Any]
    matches: list[dict[str, Any]]
    parties: dict[str, str]
    reference: dict[str, Any]


async def show(rt: ConsoleRuntime, token: str, need_id: str) -> NeedView:
    """The need with every version, the units suggested for it (best first) and their names.
    A need of another community is not found (the service answers 404)."""
    need, matches, ref = await asyncio.gather(
        rt.services.get("agreements", f"/needs/{need_id}", token),
        rt.services.get("agreements", f"/needs/{need_id}/matches", token, limit=20),
        reference(rt, token),
    )
    found = await names.of(rt, token, [m["unit_id"] for m in matches["items"]])
    return NeedView(need, matches["items"], found, ref)


async def revise(
    rt: ConsoleRuntime, token: str, need_id: str, fields: dict[str, Any], key: str
) -> dict[str, Any]:
    """A new version of the need (the service keeps every version)."""
    response = await rt.services.request(
        "agreements", "PUT", f"/needs/{need_id}", token, json=fields, idempotency_key=key
    )
    answer: dict[str, Any] = response.json()
    return answer
