"""Evaluations: resident one-time codes, experts and their assignments, community ratings of
members, and each subject's aggregates. Every evaluation is stored with its subject's bucket
moved and evaluation.submitted emitted, in one transaction (`submit`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

import asyncpg
from cobuild_contracts import Role
from cobuild_contracts.enums import EvaluatorKind, SubjectKind
from cobuild_contracts.events.evaluation import (
    AssignedKind,
    EvaluationSubmitted,
    ExpertAssigned,
    ExpertRegistered,
)
from cobuild_contracts.ids import new_event_id
from cobuild_kit.auth import Actor
from cobuild_kit.clock import business_date
from cobuild_kit.errors import Conflict, Forbidden, Gone, Invalid, NotFound
from cobuild_kit.logging import get_logger
from cobuild_kit.parties import authorize
from cobuild_kit.service import UnitOfWork

from cobuild_evaluation.domain.evaluation import (
    Aggregate,
    Party,
    aggregate,
    bucket,
    code_hash,
    codes_refused,
    expert_score,
    new_code,
    self_redemption,
)
from cobuild_evaluation.settings import EvaluationRuntime
from cobuild_evaluation.store import evaluations, experts, ledger, members, resident_codes
from cobuild_evaluation.store.parties import TREES
from cobuild_evaluation.usecases.scopes import ScopeKind, authorize_read, parties_of

log = get_logger(__name__)


async def submit(
    uow: UnitOfWork,
    *,
    subject_kind: SubjectKind,
    subject_id: UUID,
    evaluator_kind: EvaluatorKind,
    evaluator: str | None,
    at: datetime,
    rating: int | None = None,
    score: Decimal | None = None,
    criteria: dict[str, int] | None = None,
    comment: str = "",
    year: int | None = None,
    flagged: bool = False,
) -> EvaluationSubmitted:
    """Store one evaluation, move its subject's aggregate and emit evaluation.submitted. A
    flagged one (a resident code redeemed by its issuing party) is stored only: it moves no
    aggregate and announces nothing, so it counts in no mean."""
    day = business_date(at)
    event = EvaluationSubmitted(
        evaluation_id=new_event_id(),
        subject_kind=subject_kind,
        subject_id=subject_id,
        evaluator_kind=evaluator_kind,
        rating=rating,
        score=score,
        criteria=criteria or {},
        comment=comment,
        business_date=day,
        submitted_at=at,
    )
    await evaluations.add(uow.conn, event, evaluator, year or day.year, flagged)
    if flagged:
        return event
    value = Decimal(rating) if rating is not None else score
    await evaluations.add_to_bucket(
        uow.conn,
        subject_kind.value,
        subject_id,
        evaluator_kind.value,
        bucket(rating, score),
        value,
    )
    await uow.emit(event)
    return event


# --- resident codes -------------------------------------------------------------------


@dataclass(frozen=True)
class Codes:
    codes: list[str]
    expires_at: datetime


async def issue_codes(
    rt: EvaluationRuntime,
    actor: Actor,
    commitment_id: UUID,
    count: int,
    ttl: timedelta,
    address: str,
) -> Codes:
    """The beneficiary's admin hands out one-time codes for a fulfilled commitment, at most
    `resident_codes_per_commitment` in all (the service learns no beneficiaries head count
    from its events, so the bound is a setting). Each code's issue is audited."""
    now = rt.clock.now()
    expires = now + ttl
    cap = rt.settings.resident_codes_per_commitment
    if count > cap:
        raise Invalid(f"at most {cap} resident codes per commitment", field="body.count")
    async with rt.unit_of_work() as uow:
        row = await ledger.standing(uow.conn, commitment_id)
        if row is None:
            raise NotFound(f"no commitment {commitment_id}")
        await authorize(
            uow.conn,
            actor,
            row["beneficiary_party_id"],
            roles={Role.COMMUNITY_ADMIN, Role.UNIT_ADMIN},
            action="issue resident codes",
        )
        if row["fulfilled_on"] is None or row["cancelled_on"] is not None:
            state = "cancelled" if row["cancelled_on"] is not None else "open"
            raise Conflict(f"commitment is {state}: residents evaluate fulfilled commitments only")
        issued = await resident_codes.issued_for(uow.conn, commitment_id)
        refused = codes_refused(issued, count, cap)
        if refused is not None:
            log.warning(
                "resident_codes.refused",
                commitment_id=str(commitment_id),
                subject=actor.subject,
                issued=issued,
                asked=count,
                cap=cap,
            )
            raise Conflict(refused, field="body.count")
        codes = [new_code() for _ in range(count)]
        await resident_codes.issue(
            uow.conn,
            [code_hash(c) for c in codes],
            commitment_id,
            issued_by=actor.subject,
            issuer_party_id=actor.party_id,
            issued_from=address,
            issued_at=now,
            expires_at=expires,
        )
    return Codes(codes, expires)


@dataclass(frozen=True)
class ResidentCode:
    commitment_id: UUID
    state: Literal["open", "used", "expired"]
    expires_at: datetime


async def look_up_code(rt: EvaluationRuntime, code: str) -> ResidentCode:
    """What a resident's link leads to before they rate: the commitment and whether the code
    still works (an unknown code is 404, as at the redemption)."""
    async with rt.pool.acquire() as conn:
        row = await resident_codes.find(conn, code_hash(code))
    if row is None:
        raise NotFound("unknown code")
    state: Literal["open", "used", "expired"] = (
        "used"
        if row["used_at"] is not None
        else "expired"
        if row["expires_at"] <= rt.clock.now()
        else "open"
    )
    return ResidentCode(row["commitment_id"], state, row["expires_at"])


async def redeem(
    rt: EvaluationRuntime, code: str, rating: int, comment: str, redeemer: Party
) -> EvaluationSubmitted:
    """A resident's 1–5 rating with a one-time code. A code works once. A redemption by the
    party that issued the code (its address, or its token) is kept flagged and audited, and
    counts in no mean (ARCHITECTURE.md has no rule for it; RELIABILITY.md's row does)."""
    now = rt.clock.now()
    hashed = code_hash(code)
    async with rt.unit_of_work() as uow:
        row = await resident_codes.lock(uow.conn, hashed)
        if row is None:
            raise NotFound("unknown code")
        if row["used_at"] is not None:
            raise Gone("this code has already been used")
        if row["expires_at"] <= now:
            raise Gone("this code has expired")
        issuer = Party(
            address=row["issued_from"] or "",
            subject=row["issued_by"],
            party_id=None if row["issuer_party_id"] is None else str(row["issuer_party_id"]),
        )
        reason = self_redemption(issuer, redeemer)
        event = await submit(
            uow,
            subject_kind=SubjectKind.COMMITMENT,
            subject_id=row["commitment_id"],
            evaluator_kind=EvaluatorKind.RESIDENT,
            evaluator=None,
            at=now,
            rating=rating,
            comment=comment,
            flagged=reason is not None,
        )
        await resident_codes.use(
            uow.conn,
            hashed,
            row["commitment_id"],
            at=now,
            address=redeemer.address,
            subject=redeemer.subject,
            party_id=None if redeemer.party_id is None else UUID(redeemer.party_id),
            flag_reason=reason,
            evaluation_id=event.evaluation_id,
        )
    if reason is not None:
        log.warning(
            "resident_code.self_redeemed",
            commitment_id=str(row["commitment_id"]),
            reason=reason,
            evaluation_id=str(event.evaluation_id),
        )
    return event


# --- experts ---------------------------------------------------------------------------


def district_admin(actor: Actor, action: str) -> None:
    if actor.role != Role.DISTRICT_ADMIN:
        raise Forbidden(f"role {actor.role.value} may not {action}")


async def add_expert(
    rt: EvaluationRuntime,
    actor: Actor,
    expert_id: UUID,
    name: str,
    field: str,
    subject: str | None = None,
) -> None:
    """A district admin adds an expert to the directory; `expert.registered` tells the
    access service, which grants the expert role for `expert_id` to `subject` when given
    (the name and field stay here)."""
    district_admin(actor, "manage the expert directory")
    async with rt.unit_of_work() as uow:
        now = rt.clock.now()
        if not await experts.add(uow.conn, expert_id, name, field, now, subject):
            raise Conflict(f"expert {expert_id} already exists", field="body.expert_id")
        await uow.emit(ExpertRegistered(expert_id=expert_id, subject=subject, registered_at=now))


async def expert_directory(
    rt: EvaluationRuntime, actor: Actor, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """A page of the directory, by name, and how many experts there are."""
    district_admin(actor, "read the expert directory")
    async with rt.pool.acquire() as conn:
        return await experts.directory(conn, limit, offset)


async def my_assignments(
    rt: EvaluationRuntime, actor: Actor, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """An expert's own assignments (what it is to evaluate, and whether it has), oldest first."""
    if actor.role != Role.EXPERT:
        raise Forbidden(
            f"role {actor.role.value} may not list assignments: an expert lists its own"
        )
    async with rt.pool.acquire() as conn:
        return await experts.assignments_of(conn, actor.party_id, limit, offset)


async def assign(
    rt: EvaluationRuntime,
    actor: Actor,
    *,
    assignment_id: UUID,
    expert_id: UUID,
    subject_kind: AssignedKind,
    subject_id: UUID,
    criteria: list[str],
) -> None:
    """A district admin assigns an expert to a commitment or an agreement in its district.
    `expert.assigned` leaves in the same transaction: the commitments service lets the expert
    read an assigned commitment and its evidence."""
    district_admin(actor, "assign experts")
    if len(set(criteria)) != len(criteria):
        raise Invalid("duplicate criterion", field="body.criteria")
    async with rt.unit_of_work() as uow:
        await _supervises(uow.conn, actor, ScopeKind(subject_kind), subject_id)
        if not await experts.exists(uow.conn, expert_id):
            raise Invalid(f"no expert {expert_id} in the directory", field="body.expert_id")
        now = rt.clock.now()
        assigned = await experts.assign(
            uow.conn,
            assignment_id=assignment_id,
            expert_id=expert_id,
            subject_kind=subject_kind,
            subject_id=subject_id,
            criteria=criteria,
            assigned_by=actor.subject,
            at=now,
        )
        if assigned:
            await uow.emit(
                ExpertAssigned(
                    assignment_id=assignment_id,
                    expert_id=expert_id,
                    subject_kind=subject_kind,
                    subject_id=subject_id,
                    assigned_at=now,
                )
            )
    if not assigned:
        raise Conflict("the expert is already assigned to this subject")


async def _supervises(conn: asyncpg.Connection, actor: Actor, kind: ScopeKind, sid: UUID) -> None:
    parties = await parties_of(conn, kind, sid)
    await authorize(
        conn, actor, parties[0], roles=set(), supervisors_may=True, action="assign experts here"
    )


async def expert_evaluates(
    rt: EvaluationRuntime,
    actor: Actor,
    *,
    subject_kind: str,
    subject_id: UUID,
    criteria: dict[str, int],
    comment: str,
) -> EvaluationSubmitted:
    """An assigned expert scores 0–100 against the assignment's named criteria, once."""
    if actor.role != Role.EXPERT:
        raise Forbidden(f"role {actor.role.value} may not give expert evaluations")
    now = rt.clock.now()
    async with rt.unit_of_work() as uow:
        row = await experts.lock_assignment(uow.conn, actor.party_id, subject_kind, subject_id)
        if row is None:
            raise Forbidden(
                f"expert {actor.party_id} is not assigned to {subject_kind} {subject_id}"
            )
        if row["evaluated_at"] is not None:
            raise Conflict("already evaluated under this assignment")
        if set(criteria) != set(row["criteria"]):
            raise Invalid(
                f"criteria must be exactly: {', '.join(sorted(row['criteria']))}",
                field="body.criteria",
            )
        await experts.mark_evaluated(uow.conn, row["assignment_id"], now)
        return await submit(
            uow,
            subject_kind=SubjectKind(subject_kind),
            subject_id=subject_id,
            evaluator_kind=EvaluatorKind.EXPERT,
            evaluator=actor.subject,
            at=now,
            score=expert_score(criteria),
            criteria=dict(sorted(criteria.items())),
            comment=comment,
        )


# --- communities rate their members ----------------------------------------------------


async def rate_member(
    rt: EvaluationRuntime, actor: Actor, *, member_id: UUID, year: int, score: Decimal, comment: str
) -> EvaluationSubmitted:
    """A community admin rates a member's service in its community for a year (once)."""
    if actor.role != Role.COMMUNITY_ADMIN:
        raise Forbidden(f"role {actor.role.value} may not rate members")
    async with rt.unit_of_work() as uow:
        if not await members.serves_in(uow.conn, member_id, actor.party_id, year):
            raise Forbidden(f"member {member_id} does not serve in community {actor.party_id}")
        try:
            return await submit(
                uow,
                subject_kind=SubjectKind.MEMBER,
                subject_id=member_id,
                evaluator_kind=EvaluatorKind.COMMUNITY,
                evaluator=str(actor.party_id),
                at=rt.clock.now(),
                score=score,
                comment=comment,
                year=year,
            )
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(f"member already rated by this community for {year}") from exc


async def _may_read_member(conn: asyncpg.Connection, actor: Actor, member_id: UUID) -> None:
    """A member's ratings are read by the member, by the admins of the community it serves in
    and by the street and district admins above that community; to anyone else the member
    is unknown (404), as one that does not exist (the hardening issue's "Member ratings")."""
    if actor.role is Role.MEMBER and actor.party_id == member_id:
        return
    community = await members.community_of(conn, member_id)
    if community is not None and (await TREES.current(conn)).permits(
        actor, community, roles={Role.COMMUNITY_ADMIN}, supervisors_may=True
    ):
        return
    raise NotFound(f"no member {member_id}", field="query.subject_id")


async def aggregates(
    rt: EvaluationRuntime, actor: Actor, subject_kind: SubjectKind, subject_id: UUID
) -> dict[str, Any]:
    """Count, mean and distribution per evaluator kind for one subject."""
    async with rt.pool.acquire() as conn:
        if subject_kind in (SubjectKind.COMMITMENT, SubjectKind.AGREEMENT):
            await authorize_read(
                conn, actor, ScopeKind(subject_kind.value), subject_id, field="query.subject_id"
            )
        elif subject_kind is SubjectKind.MEMBER:
            await _may_read_member(conn, actor, subject_id)
        elif actor.role not in (Role.DISTRICT_ADMIN, Role.STREET_ADMIN, Role.COMMUNITY_ADMIN):
            raise Forbidden(f"role {actor.role.value} may not read these evaluations")
        rows = await evaluations.buckets(conn, subject_kind.value, subject_id)
        flagged = await evaluations.flagged_count(conn, subject_kind.value, subject_id)
    out: dict[str, Aggregate] = {}
    for kind in EvaluatorKind:
        mine = [
            (r["bucket"], int(r["n"]), Decimal(r["total"]))
            for r in rows
            if r["evaluator_kind"] == kind.value
        ]
        out[kind.value] = aggregate(mine)
    return {**{k: v.as_dict() for k, v in out.items()}, "flagged": flagged}
