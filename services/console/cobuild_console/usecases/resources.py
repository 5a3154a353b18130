"""The unit's resources list (资源清单): the list with its filter, offering a resource, a new
version of one (history kept by the service), withdrawing one, and the needs the matcher
suggests for it with their communities' names."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.usecases.needs import Choice, reference
from cobuild_console.usecases.parties import names

STATUSES = ("offered", "withdrawn")
RENAMED = {"funds_fen": "funds_yuan"}
FIELDS = frozenset(
    {
        "category",
        "kind",
        "title",
        "description",
        "capacity",
        "capacity_unit",
        "funds_yuan",
        "available_from",
        "available_until",
        "community_ids",
    }
)


@dataclass
class ResourceVocab:
    categories: list[Choice]
    kinds: list[Choice]

    def label(self, kind: str, code: str) -> str:
        return next((c.label for c in getattr(self, kind) if c.code == code), code)


def vocab(data: dict[str, Any], locale: str) -> ResourceVocab:
    tag = "zh-CN" if locale.startswith("zh") else "en"

    def choices(name: str) -> list[Choice]:
        return [Choice(c["code"], c["labels"].get(tag) or c["code"]) for c in data.get(name, [])]

    return ResourceVocab(choices("categories"), choices("resource_kinds"))


async def listing(
    rt: ConsoleRuntime, token: str, unit_id: str, status: str | None, offset: int
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """A page of the list, the reference data, and the unit's paired communities by name
    (what a resource may be limited to)."""
    page, ref, unit = await asyncio.gather(
        rt.services.get(
            "agreements",
            "/resources",
            token,
            unit_id=unit_id,
            status=status,
            limit=50,
            offset=offset,
        ),
        reference(rt, token),
        rt.services.get("agreements", f"/parties/{unit_id}", token),
    )
    paired = await names.of(rt, token, [str(c) for c in unit.get("paired_community_ids", [])])
    return page, ref, paired


async def offer(
    rt: ConsoleRuntime, token: str, unit_id: str, fields: dict[str, Any], key: str
) -> dict[str, Any]:
    answer: dict[str, Any] = await rt.services.post(
        "agreements", "/resources", token, {"unit_id": unit_id, **fields}, idempotency_key=key
    )
    return answer


async def revise(
    rt: ConsoleRuntime, token: str, resource_id: str, fields: dict[str, Any], key: str
) -> dict[str, Any]:
    response = await rt.services.request(
        "agreements", "PUT", f"/resources/{resource_id}", token, json=fields, idempotency_key=key
    )
    answer: dict[str, Any] = response.json()
    return answer


async def withdraw(
    rt: ConsoleRuntime, token: str, resource_id: str, reason: str, key: str
) -> dict[str, Any]:
    answer: dict[str, Any] = await rt.services.post(
        "agreements",
        f"/resources/{resource_id}/withdraw",
        token,
        {"reason": reason},
        idempotency_key=key,
    )
    return answer


@dataclass(frozen=True)
class ResourceView:
    resource: dict[str, Any]
    matches: list[dict[str, Any]]
    parties: dict[str, str]  # the communities named by the resource and its matches
    paired: dict[str, str]


async def show(rt: ConsoleRuntime, token: str, unit_id: str, resource_id: str) -> ResourceView:
    resource, matches, unit = await asyncio.gather(
        rt.services.get("agreements", f"/resources/{resource_id}", token),
        rt.services.get("agreements", f"/resources/{resource_id}/matches", token, limit=20),
        rt.services.get("agreements", f"/parties/{unit_id}", token),
    )
    mentioned = {str(m["community_id"]) for m in matches["items"]}
    mentioned |= {str(c) for c in resource["community_ids"]}
    paired_ids = [str(c) for c in unit.get("paired_community_ids", [])]
    parties = await names.of(rt, token, mentioned | set(paired_ids))
    paired = {c: parties.get(c, c[:8]) for c in paired_ids}
    return ResourceView(resource, matches["items"], parties, paired)
