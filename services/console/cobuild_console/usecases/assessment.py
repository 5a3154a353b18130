"""The year-end assessment through the evaluation service: a district admin's preview under
a chosen policy and quota, publication for 公示, the objections and their decisions, and
finalisation; a unit admin's and a member's own score and objection."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cobuild_console.domain.assessment import (
    ROWS,
    Band,
    by_rank,
    distribution,
    tied_ranks,
)
from cobuild_console.gateways.services import ServiceRefusal
from cobuild_console.runtime import ConsoleRuntime
from cobuild_console.usecases.parties import names


@dataclass(frozen=True)
class Preview:
    year: int
    policy_version: str
    quota: Decimal | None
    totals: dict[str, Any]
    members: list[dict[str, Any]]  # the highest ranked ROWS, by rank
    member_count: int
    units: list[dict[str, Any]]  # all, by rank
    member_bands: list[Band]
    unit_bands: list[Band]
    member_ties: set[int]
    unit_ties: set[int]
    digest: str
    names: dict[str, str]


def _run_body(district_id: str, policy: str, quota: Decimal | None) -> dict[str, Any]:
    body: dict[str, Any] = {"district_id": district_id, "policy_version": policy}
    if quota is not None:
        body["excellent_quota"] = format(quota, "f")
    return body


async def preview(
    rt: ConsoleRuntime,
    token: str,
    district_id: str,
    year: int,
    policy: str,
    quota: Decimal | None,
) -> Preview:
    out = await rt.services.post(
        "evaluation", f"/assessments/{year}/preview", token, _run_body(district_id, policy, quota)
    )
    members = by_rank(out["members"])
    units = by_rank(out["units"])
    ids = {u["subject_id"] for u in units}
    ids |= {m[k] for m in members[:ROWS] for k in ("community_id", "unit_id") if m.get(k)}
    return Preview(
        year=year,
        policy_version=out["policy_version"],
        quota=quota,
        totals=out["totals"],
        members=members[:ROWS],
        member_count=len(members),
        units=units,
        member_bands=distribution([Decimal(m["score"]) for m in members]),
        unit_bands=distribution([Decimal(u["score"]) for u in units]),
        member_ties=tied_ranks(members),
        unit_ties=tied_ranks(units),
        digest=out["digest"],
        names=await names.of(rt, token, ids),
    )


async def publish(
    rt: ConsoleRuntime,
    token: str,
    district_id: str,
    year: int,
    policy: str,
    quota: Decimal | None,
    key: str,
) -> dict[str, Any]:
    published: dict[str, Any] = await rt.services.post(
        "evaluation",
        f"/assessments/{year}/publish",
        token,
        _run_body(district_id, policy, quota),
        idempotency_key=key,
    )
    return published


async def current(
    rt: ConsoleRuntime, token: str, district_id: str, year: int
) -> dict[str, Any] | None:
    """The current publication's head (and its units), or None before any."""
    try:
        head: dict[str, Any] = await rt.services.get(
            "evaluation",
            f"/assessments/{year}",
            token,
            district_id=district_id,
            subject="unit",
            limit=200,
        )
    except ServiceRefusal as refused:
        if refused.status == 404:
            return None
        raise
    return head


async def objections(rt: ConsoleRuntime, token: str, district_id: str, year: int) -> dict[str, Any]:
    listed: dict[str, Any] = await rt.services.get(
        "evaluation", f"/assessments/{year}/objections", token, district_id=district_id
    )
    return listed


async def uphold(
    rt: ConsoleRuntime,
    token: str,
    objection_id: str,
    reason: str,
    corrections: dict[str, str],
    key: str,
) -> dict[str, Any]:
    done: dict[str, Any] = await rt.services.post(
        "evaluation",
        f"/objections/{objection_id}/uphold",
        token,
        {"reason": reason, "corrections": corrections},
        idempotency_key=key,
    )
    return done


async def reject(
    rt: ConsoleRuntime, token: str, objection_id: str, reason: str, key: str
) -> dict[str, Any]:
    done: dict[str, Any] = await rt.services.post(
        "evaluation",
        f"/objections/{objection_id}/reject",
        token,
        {"reason": reason},
        idempotency_key=key,
    )
    return done


async def finalise(
    rt: ConsoleRuntime, token: str, district_id: str, year: int, key: str
) -> dict[str, Any]:
    done: dict[str, Any] = await rt.services.post(
        "evaluation",
        f"/assessments/{year}/finalise",
        token,
        {"district_id": district_id},
        idempotency_key=key,
    )
    return done


async def own(rt: ConsoleRuntime, token: str, year: int) -> dict[str, Any] | None:
    """The actor's own score of the year (a member's, or a unit admin's unit's), or None."""
    try:
        found: dict[str, Any] = await rt.services.get(
            "evaluation", f"/assessments/{year}/own", token
        )
    except ServiceRefusal as refused:
        if refused.status == 404:
            return None
        raise
    return found


async def file_objection(
    rt: ConsoleRuntime,
    token: str,
    year: int,
    reason: str,
    files: list[tuple[str, bytes, str]],
    key: str,
) -> dict[str, Any]:
    response = await rt.services.request(
        "evaluation",
        "POST",
        f"/assessments/{year}/objections",
        token,
        data={"reason": reason},
        files=[("files", f) for f in files] or None,
        idempotency_key=key,
    )
    filed: dict[str, Any] = response.json()
    return filed
