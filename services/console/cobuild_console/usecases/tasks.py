"""The unit's tasks board and one task's page: what the unit owes, read from the commitments
service, with the beneficiaries' names (agreements) and the members' names (points, the
only home of names); and the unit's moves on a task: claim, assign, progress with evidence,
done. Nothing is kept here."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from cobuild_console.domain.tasks import COLUMNS, Column, Moves, column_of, moves
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.usecases.parties import names


@dataclass(frozen=True)
class Member:
    member_id: str
    name: str
    status: str  # only `reported` members may be assigned (the commitments service's rule)

    @property
    def assignable(self) -> bool:
        return self.status == "reported"


@dataclass
class Board:
    columns: dict[Column, list[dict[str, Any]]] = field(
        default_factory=lambda: {c: [] for c in COLUMNS}
    )
    fulfilled: int = 0
    parties: dict[str, str] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)  # member id → name

    @property
    def owed(self) -> int:
        return sum(len(v) for v in self.columns.values())

    def names_of(self, member_ids: list[str]) -> list[str]:
        """The assigned members' names; one who left the unit's list shows as a short id."""
        return [self.members.get(str(m), str(m)[:8]) for m in member_ids]


async def roster(rt: ConsoleRuntime, token: str, unit_id: str) -> list[Member]:
    """The unit's members by name (the points service's picker list). A unit the service
    does not know yet has none."""
    try:
        found = await rt.services.every("points", f"/units/{unit_id}/members", token)
    except ServiceRefusal as refused:
        if refused.status == 404:
            return []
        raise
    return [Member(str(m["member_id"]), str(m["name"]), str(m["status"])) for m in found]


async def board(rt: ConsoleRuntime, token: str, unit_id: str) -> Board:
    today = rt.today()
    found, members = await asyncio.gather(
        rt.services.every("commitments", f"/units/{unit_id}/tasks", token),
        roster(rt, token, unit_id),
    )
    b = Board(members={m.member_id: m.name for m in members})
    for c in found:
        if str(c["obligor_party_id"]) != unit_id:
            continue
        column = column_of(
            str(c["status"]), bool(c.get("overdue")), date.fromisoformat(c["deadline"]), today
        )
        if column is None:
            b.fulfilled += c["status"] == "fulfilled"
            continue
        b.columns[column].append(c)
    for cards in b.columns.values():
        cards.sort(key=lambda c: (c["deadline"], c["title"]))
    mentioned = {str(c["beneficiary_party_id"]) for cards in b.columns.values() for c in cards}
    b.parties = await names.of(rt, token, mentioned)
    return b


@dataclass(frozen=True)
class TaskView:
    commitment: dict[str, Any]
    history: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    parties: dict[str, str]
    members: list[Member]
    moves: Moves
    column: Column | None

    @property
    def member_names(self) -> dict[str, str]:
        return {m.member_id: m.name for m in self.members}


async def task(rt: ConsoleRuntime, token: str, unit_id: str, commitment_id: str) -> TaskView:
    path = f"/commitments/{commitment_id}"
    commitment, history, evidence, members = await asyncio.gather(
        rt.services.get("commitments", path, token),
        rt.services.get("commitments", f"{path}/history", token),
        rt.services.get("commitments", f"{path}/evidence", token),
        roster(rt, token, unit_id),
    )
    parties = await names.of(
        rt, token, [commitment["obligor_party_id"], commitment["beneficiary_party_id"]]
    )
    status = str(commitment["status"])
    return TaskView(
        commitment,
        history["items"],
        evidence["items"],
        parties,
        members,
        moves(status),
        column_of(
            status,
            bool(commitment.get("overdue")),
            date.fromisoformat(commitment["deadline"]),
            rt.today(),
        ),
    )


async def claim(rt: ConsoleRuntime, token: str, commitment_id: str, key: str) -> dict[str, Any]:
    done: dict[str, Any] = await rt.services.post(
        "commitments", f"/commitments/{commitment_id}/claim", token, None, idempotency_key=key
    )
    return done


async def assign(
    rt: ConsoleRuntime, token: str, commitment_id: str, member_ids: list[str], key: str
) -> dict[str, Any]:
    response = await rt.services.request(
        "commitments",
        "PUT",
        f"/commitments/{commitment_id}/assignees",
        token,
        json={"member_ids": member_ids},
        idempotency_key=key,
    )
    done: dict[str, Any] = response.json()
    return done


async def progress(
    rt: ConsoleRuntime, token: str, commitment_id: str, body: dict[str, Any], key: str
) -> dict[str, Any]:
    done: dict[str, Any] = await rt.services.post(
        "commitments", f"/commitments/{commitment_id}/progress", token, body, idempotency_key=key
    )
    return done


async def add_evidence(
    rt: ConsoleRuntime,
    token: str,
    commitment_id: str,
    filename: str,
    content: bytes,
    content_type: str,
    key: str,
) -> dict[str, Any]:
    done: dict[str, Any] = await rt.services.upload(
        "commitments",
        f"/commitments/{commitment_id}/evidence",
        token,
        filename=filename,
        content=content,
        content_type=content_type,
        idempotency_key=key,
    )
    return done


async def mark_done(
    rt: ConsoleRuntime,
    token: str,
    commitment_id: str,
    participants: list[tuple[str, Decimal]],
    key: str,
) -> dict[str, Any]:
    body = {"participants": [{"member_id": m, "hours": str(h)} for m, h in participants]}
    done: dict[str, Any] = await rt.services.post(
        "commitments", f"/commitments/{commitment_id}/done", token, body, idempotency_key=key
    )
    return done
