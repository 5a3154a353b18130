"""One commitment for the confirm-or-refuse page: the commitment, its history and its
evidence; confirming and refusing; an evidence file passed through."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.usecases.parties import names


@dataclass(frozen=True)
class CommitmentView:
    commitment: dict[str, Any]
    history: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    parties: dict[str, str]

    def awaits_confirmation_by(self, party_id: str) -> bool:
        c = self.commitment
        return bool(
            c["status"] == "done_pending_confirmation" and c["beneficiary_party_id"] == party_id
        )


async def show(rt: ConsoleRuntime, token: str, commitment_id: str) -> CommitmentView:
    path = f"/commitments/{commitment_id}"
    commitment, history, evidence = await asyncio.gather(
        rt.services.get("commitments", path, token),
        rt.services.get("commitments", f"{path}/history", token),
        rt.services.get("commitments", f"{path}/evidence", token),
    )
    parties = await names.of(
        rt, token, [commitment["obligor_party_id"], commitment["beneficiary_party_id"]]
    )
    return CommitmentView(commitment, history["items"], evidence["items"], parties)


async def confirm(rt: ConsoleRuntime, token: str, commitment_id: str, key: str) -> dict[str, Any]:
    done: dict[str, Any] = await rt.services.post(
        "commitments", f"/commitments/{commitment_id}/confirm", token, {}, idempotency_key=key
    )
    return done


async def refuse(
    rt: ConsoleRuntime, token: str, commitment_id: str, reason: str, key: str
) -> dict[str, Any]:
    done: dict[str, Any] = await rt.services.post(
        "commitments",
        f"/commitments/{commitment_id}/refuse",
        token,
        {"reason": reason},
        idempotency_key=key,
    )
    return done


async def evidence_file(
    rt: ConsoleRuntime, token: str, commitment_id: str, evidence_id: str
) -> httpx.Response:
    return await rt.services.request(
        "commitments", "GET", f"/commitments/{commitment_id}/evidence/{evidence_id}", token
    )
