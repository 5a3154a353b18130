"""My to-do (我的待办): what waits for the acting party, read from the four services with
the acting person's token. A service that does not answer leaves its lists out and is named
on the page; the others still show."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import date, timedelta
from typing import Any

from cobuild_console.domain.todo import (
    Draft,
    OwedCommitment,
    Todo,
    awaiting_my_answer,
    due_list,
)
from cobuild_console.gateways.services import ServiceUnavailable
from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.usecases.parties import names

COMMUNITY = "community_admin"
UNIT = "unit_admin"


async def gather(
    rt: ConsoleRuntime, token: str, role: str, party_id: str
) -> tuple[Todo, dict[str, str]]:
    """The to-do lists and the names of the parties they mention."""
    today = rt.today()
    todo = Todo()
    horizon = today + timedelta(days=rt.settings.todo_due_days)
    party_filter = {"community_id": party_id} if role == COMMUNITY else {"unit_id": party_id}
    tasks_path = (
        f"/communities/{party_id}/tasks" if role == COMMUNITY else f"/units/{party_id}/tasks"
    )

    async def to_confirm() -> None:
        found = await rt.services.every(
            "commitments",
            "/commitments",
            token,
            {"status": "done_pending_confirmation", **party_filter},
        )
        todo.to_confirm = sorted(
            (c for c in found if c["beneficiary_party_id"] == party_id),
            key=lambda c: (c.get("done_at") or "", c["title"]),
        )

    async def due() -> None:
        found = await rt.services.every(
            "commitments", tasks_path, token, {"deadline_to": horizon.isoformat()}
        )
        todo.due = due_list([_owed(c) for c in found], today, rt.settings.todo_due_days)

    async def drafts() -> None:
        found = await rt.services.every("agreements", "/agreements", token, {"party_id": party_id})
        todo.drafts = awaiting_my_answer([_draft(a, party_id) for a in found], party_id)

    async def reports() -> None:
        found = await rt.services.every("points", f"/communities/{party_id}/members", token)
        todo.reports = [
            m
            for m in found
            if m["status"] == "requested" and m.get("requested_community_id") == party_id
        ]

    jobs: list[tuple[str, Awaitable[None]]] = [
        ("commitments", to_confirm()),
        ("commitments", due()),
        ("agreements", drafts()),
    ]
    if role == COMMUNITY:
        jobs.append(("points", reports()))
    results = await asyncio.gather(*(job for _, job in jobs), return_exceptions=True)
    for (service, _), result in zip(jobs, results, strict=True):
        if isinstance(result, ServiceUnavailable):
            if service not in todo.unavailable:
                todo.unavailable.append(service)
        elif isinstance(result, BaseException):
            raise result
    mentioned = {str(c["obligor_party_id"]) for c in todo.to_confirm}
    mentioned |= {d.commitment.counterpart_id for d in todo.due}
    mentioned |= {d.counterpart_id for d in todo.drafts}
    mentioned |= {str(m["unit_id"]) for m in todo.reports}
    return todo, await names.of(rt, token, mentioned)


def _owed(c: dict[str, Any]) -> OwedCommitment:
    return OwedCommitment(
        commitment_id=str(c["commitment_id"]),
        title=str(c["title"]),
        counterpart_id=str(c["beneficiary_party_id"]),
        deadline=date.fromisoformat(c["deadline"]),
        status=str(c["status"]),
        overdue_flag=bool(c.get("overdue")),
        funds_fen=int(c.get("funds_fen") or 0),
    )


def _draft(a: dict[str, Any], party_id: str) -> Draft:
    counterpart = a["unit_id"] if a["community_id"] == party_id else a["community_id"]
    return Draft(
        agreement_id=str(a["agreement_id"]),
        counterpart_id=str(counterpart),
        version=int(a["version"]),
        state=str(a["state"]),
        proposed_by=str(a["proposed_by"]),
        created_at_iso=str(a["created_at"]),
    )


async def accept_report(rt: ConsoleRuntime, token: str, member_id: str, key: str) -> dict[str, Any]:
    answer: dict[str, Any] = await rt.services.post(
        "points", f"/members/{member_id}/report/accept", token, None, idempotency_key=key
    )
    return answer


async def decline_report(
    rt: ConsoleRuntime, token: str, member_id: str, reason: str, key: str
) -> dict[str, Any]:
    answer: dict[str, Any] = await rt.services.post(
        "points",
        f"/members/{member_id}/report/decline",
        token,
        {"reason": reason},
        idempotency_key=key,
    )
    return answer
