"""One agreement for its page: every round with its items, the signatures, who is awaited;
signing the current draft for the acting party."""

from __future__ import annotations

from typing import Any

from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.usecases.parties import names


async def show(
    rt: ConsoleRuntime, token: str, agreement_id: str
) -> tuple[dict[str, Any], dict[str, str]]:
    agreement: dict[str, Any] = await rt.services.get(
        "agreements", f"/agreements/{agreement_id}", token
    )
    parties = await names.of(rt, token, [agreement["community_id"], agreement["unit_id"]])
    return agreement, parties


async def sign(
    rt: ConsoleRuntime, token: str, agreement_id: str, version: int, key: str
) -> dict[str, Any]:
    answer: dict[str, Any] = await rt.services.post(
        "agreements",
        f"/agreements/{agreement_id}/signatures",
        token,
        {"version": version},
        idempotency_key=key,
    )
    return answer
