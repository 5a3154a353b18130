"""The 公示 period (issue 35): a subject reads its own publicised score and objects to it with
a reason and attachments; the district admin upholds (the corrected input re-runs the year,
and every subject whose grade changed gets a new window) or rejects with a reason; after the
last window, with no open objection, the publication becomes final. Every step is an event
and an entry in the district-year's audit trail (`assessment_audit`)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO
from uuid import UUID, uuid4

import asyncpg
from cobuild_contracts import Envelope, Role
from cobuild_contracts.enums import Grade
from cobuild_contracts.events.evaluation import (
    AssessmentFinalised,
    MemberScored,
    ObjectionFiled,
    ObjectionRejected,
    ObjectionUpheld,
    UnitScored,
)
from cobuild_kit import working_calendar
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Conflict, Forbidden, Invalid, NotFound
from cobuild_kit.logging import correlation_id, get_logger
from cobuild_kit.outbox import Outbox

from cobuild_evaluation.domain import publication as rules
from cobuild_evaluation.settings import EvaluationRuntime
from cobuild_evaluation.store import assessments as assessments_store
from cobuild_evaluation.store import policies
from cobuild_evaluation.store import publication as store
from cobuild_evaluation.store.objection_files import ObjectionFiles, Spooled, TooLarge
from cobuild_evaluation.usecases import assessment

log = get_logger(__name__)
BATCH = 2_000  # final member.scored events per outbox write


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def objection_dict(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "objection_id": str(r["objection_id"]),
        "assessment_id": str(r["assessment_id"]),
        "district_id": str(r["district_id"]),
        "year": r["year"],
        "subject_kind": r["subject_kind"],
        "subject_id": str(r["subject_id"]),
        "filed_by": r["filed_by"],
        "filed_role": r["filed_role"],
        "reason": r["reason"],
        "filed_at": r["filed_at"].isoformat(),
        "state": r["state"],
        "decided_by": r["decided_by"],
        "decided_at": _iso(r["decided_at"]),
        "decision_reason": r["decision_reason"],
        "corrections": r["corrections"],
        "corrected_assessment_id": (
            str(r["corrected_assessment_id"]) if r["corrected_assessment_id"] else None
        ),
        "files": int(r["files"]) if "files" in r else 0,
    }


def _subject_of(actor: Actor) -> tuple[str, UUID]:
    kind = rules.OBJECTOR_KINDS.get(actor.role)
    if kind is None:
        raise Forbidden(f"role {actor.role.value} has no score of its own to read or object to")
    return kind, actor.party_id


async def _deadline_of(
    conn: asyncpg.Connection, head: asyncpg.Record, kind: str, sid: UUID
) -> datetime:
    own = await store.window_of(conn, head["assessment_id"], kind, sid)
    deadline: datetime = head["objection_deadline"]
    return max(deadline, own) if own else deadline


async def own(rt: EvaluationRuntime, actor: Actor, year: int) -> dict[str, Any]:
    """The actor's own current result of `year` (a member's, or a unit admin's unit's), where
    its publication stands, until when it may be objected to, and its objections."""
    kind, sid = _subject_of(actor)
    year = assessment.check_year(year)
    async with rt.pool.acquire() as conn:
        head = await store.current_of_subject(conn, kind, sid, year)
        if head is None:
            raise NotFound(f"no published score of {year} for this {kind}", field="path.year")
        row = await store.result_of(conn, head["assessment_id"], kind, sid)
        assert row is not None
        deadline = (
            await _deadline_of(conn, head, kind, sid) if head["state"] == "publicised" else None
        )
        filed = await store.objections(conn, head["district_id"], year, subject=(kind, sid))
    now = rt.clock.now()
    return {
        "year": year,
        "district_id": str(head["district_id"]),
        "assessment_id": str(head["assessment_id"]),
        "policy_version": head["policy_version"],
        "state": head["state"],
        "objection_deadline": _iso(deadline),
        "may_object": deadline is not None and now <= deadline,
        "subject_kind": kind,
        "result": assessment.result_dict(row),
        "objections": [objection_dict(o) for o in filed],
    }


async def _spool_all(
    files: ObjectionFiles, uploads: list[tuple[BinaryIO, str | None]], max_bytes: int
) -> list[tuple[Spooled, str, str]]:
    spooled: list[tuple[Spooled, str, str]] = []
    try:
        for source, name in uploads:
            try:
                s = await asyncio.to_thread(files.spool, source, max_bytes)
            except TooLarge as exc:
                raise Invalid(str(exc), field="body.files") from None
            spooled.append((s, "", rules.safe_filename(name)))
            kind = rules.sniff_content_type(s.head)
            if s.size == 0 or kind is None:
                raise Invalid(
                    f"{rules.safe_filename(name)}: attach an image (png, jpeg, gif, webp) or a PDF",
                    field="body.files",
                )
            spooled[-1] = (s, kind, spooled[-1][2])
    except BaseException:
        for s, _, _ in spooled:
            files.discard(s)
        raise
    return spooled


async def file_objection(
    rt: EvaluationRuntime,
    actor: Actor,
    year: int,
    reason: str,
    uploads: list[tuple[BinaryIO, str | None]],
) -> dict[str, Any]:
    """An objection to the actor's own publicised score, within its window."""
    kind, sid = _subject_of(actor)
    year = assessment.check_year(year)
    reason = reason.strip()
    if not 1 <= len(reason) <= rules.MAX_REASON:
        raise Invalid(f"give a reason (at most {rules.MAX_REASON} characters)", field="body.reason")
    if len(uploads) > rules.MAX_FILES:
        raise Invalid(f"at most {rules.MAX_FILES} attachments", field="body.files")
    files = ObjectionFiles(rt.settings.data_dir)
    spooled = await _spool_all(files, uploads, rt.settings.objection_file_max_bytes)
    objection_id = uuid4()
    try:
        async with rt.unit_of_work() as uow:
            conn = uow.conn
            head = await store.current_of_subject(conn, kind, sid, year)
            if head is None:
                raise NotFound(f"no published score of {year} for this {kind}", field="path.year")
            await assessments_store.lock_district_year(conn, head["district_id"], year)
            # Read again under the lock: an upheld objection may have re-run the year meanwhile.
            head = await store.current_of_subject(conn, kind, sid, year)
            if head is None:
                raise NotFound(f"no published score of {year} for this {kind}", field="path.year")
            if head["state"] != "publicised":
                raise Conflict(f"the {year} assessment is final: the objection period is over")
            now = rt.clock.now()
            deadline = await _deadline_of(conn, head, kind, sid)
            if now > deadline:
                raise Conflict(f"the objection period ended at {deadline.isoformat()}")
            if await store.open_of_subject(conn, kind, sid, year):
                raise Conflict("an objection of yours is still open: wait for its decision")
            await store.add_objection(
                conn,
                objection_id=objection_id,
                district_id=head["district_id"],
                year=year,
                assessment_id=head["assessment_id"],
                subject_kind=kind,
                subject_id=sid,
                filed_by=actor.subject,
                filed_role=actor.role.value,
                reason=reason,
                filed_at=now,
            )
            for s, content_type, name in spooled:
                files.place(s)
                await store.add_file(
                    conn,
                    file_id=uuid4(),
                    objection_id=objection_id,
                    sha256=s.sha256,
                    content_type=content_type,
                    size_bytes=s.size,
                    filename=name,
                    added_at=now,
                )
            await uow.emit(
                ObjectionFiled(
                    objection_id=objection_id,
                    assessment_id=head["assessment_id"],
                    district_id=head["district_id"],
                    year=year,
                    subject_kind=kind,
                    subject_id=sid,
                    filed_by=actor.subject,
                    attachments=len(spooled),
                    filed_at=now,
                )
            )
            await store.audit(
                conn,
                district_id=head["district_id"],
                year=year,
                assessment_id=head["assessment_id"],
                action="objection_filed",
                actor=actor.subject,
                at=now,
                detail={"objection_id": objection_id, "subject_kind": kind, "subject_id": sid},
            )
            row = await store.objection(conn, objection_id)
            assert row is not None
    except BaseException:
        for s, _, _ in spooled:
            files.discard(s)  # placed bytes stay: the same content may be another's
        raise
    log.info("objection.filed", objection_id=str(objection_id), **actor.log_fields())
    return {**objection_dict(row), "files": len(spooled)}


async def objections(
    rt: EvaluationRuntime, actor: Actor, district_id: UUID, year: int
) -> dict[str, Any]:
    """The district-year's objections and where its publication stands (district admins)."""
    year = assessment.check_year(year)
    await assessment.authorize_district(rt, actor, district_id)
    async with rt.pool.acquire() as conn:
        head = await assessments_store.current(conn, district_id, year)
        rows = await store.objections(conn, district_id, year)
        windows = await store.windows(conn, head["assessment_id"]) if head else []
    end = (
        rules.period_end(head["objection_deadline"], [w["deadline"] for w in windows])
        if head is not None and head["objection_deadline"] is not None
        else None
    )
    return {
        "year": year,
        "district_id": str(district_id),
        "state": head["state"] if head else None,
        "assessment_id": str(head["assessment_id"]) if head else None,
        "objection_deadline": _iso(head["objection_deadline"]) if head else None,
        "period_end": _iso(end),
        "windows": [
            {
                "subject_kind": w["subject_kind"],
                "subject_id": str(w["subject_id"]),
                "deadline": w["deadline"].isoformat(),
            }
            for w in windows
        ],
        "objections": [objection_dict(r) for r in rows],
    }


async def _open_objection(conn: asyncpg.Connection, objection_id: UUID) -> asyncpg.Record:
    row = await store.objection(conn, objection_id, lock=True)
    if row is None:
        raise NotFound(f"no objection {objection_id}", field="path.objection_id")
    if row["state"] != "open":
        raise Conflict(f"objection {objection_id} was already {row['state']}")
    return row


async def _for_district_admin(rt: EvaluationRuntime, actor: Actor, objection_id: UUID) -> UUID:
    if actor.role != Role.DISTRICT_ADMIN:
        raise Forbidden(f"role {actor.role.value} may not decide objections")
    async with rt.pool.acquire() as conn:
        row = await store.objection(conn, objection_id)
    if row is None:
        raise NotFound(f"no objection {objection_id}", field="path.objection_id")
    district_id: UUID = row["district_id"]
    await assessment.authorize_district(rt, actor, district_id)
    return district_id


async def reject(
    rt: EvaluationRuntime, actor: Actor, objection_id: UUID, reason: str
) -> dict[str, Any]:
    reason = reason.strip()
    if not 1 <= len(reason) <= rules.MAX_REASON:
        raise Invalid("a rejection needs a reason", field="body.reason")
    district_id = await _for_district_admin(rt, actor, objection_id)
    async with rt.unit_of_work() as uow:
        conn = uow.conn
        row = await store.objection(conn, objection_id)
        assert row is not None
        await assessments_store.lock_district_year(conn, district_id, row["year"])
        row = await _open_objection(conn, objection_id)
        now = rt.clock.now()
        await store.decide(
            conn,
            objection_id,
            state="rejected",
            by=actor.subject,
            at=now,
            reason=reason,
            corrections=None,
            corrected_assessment_id=None,
        )
        await uow.emit(
            ObjectionRejected(
                objection_id=objection_id,
                assessment_id=row["assessment_id"],
                district_id=district_id,
                year=row["year"],
                subject_kind=row["subject_kind"],
                subject_id=row["subject_id"],
                decided_by=actor.subject,
                decided_at=now,
            )
        )
        await store.audit(
            conn,
            district_id=district_id,
            year=row["year"],
            assessment_id=row["assessment_id"],
            action="objection_rejected",
            actor=actor.subject,
            at=now,
            detail={"objection_id": objection_id, "reason": reason},
        )
        decided = await store.objection(conn, objection_id)
    log.info("objection.rejected", objection_id=str(objection_id), **actor.log_fields())
    assert decided is not None
    return objection_dict(decided)


async def uphold(
    rt: EvaluationRuntime,
    actor: Actor,
    objection_id: UUID,
    reason: str,
    raw_corrections: dict[str, Any],
) -> dict[str, Any]:
    """Uphold: the corrected inputs are kept for the district-year and the year re-runs
    under the same policy and quota (a re-publication superseding the current one, keeping
    its deadline). Every subject whose grade changed, the objector or, under a quota,
    someone else, gets a new window of the policy's working days from now."""
    reason = reason.strip()
    if not 1 <= len(reason) <= rules.MAX_REASON:
        raise Invalid("upholding needs a reason", field="body.reason")
    district_id = await _for_district_admin(rt, actor, objection_id)
    async with rt.pool.acquire() as conn:
        first = await store.objection(conn, objection_id)
    assert first is not None
    try:
        values = rules.corrections(first["subject_kind"], raw_corrections)
    except rules.CorrectionError as exc:
        raise Invalid(str(exc), field=exc.field) from None
    await assessment.refuse_while_lagging(rt)
    year = first["year"]
    async with rt.unit_of_work() as uow:
        conn = uow.conn
        await assessments_store.lock_district_year(conn, district_id, year)
        row = await _open_objection(conn, objection_id)
        head = await assessments_store.current(conn, district_id, year)
        if head is None or head["state"] != "publicised":
            raise Conflict(f"the {year} assessment is not in its objection period")
        now = rt.clock.now()
        await store.correct(
            conn, district_id, year, row["subject_kind"], row["subject_id"], values, objection_id
        )
        quota = head["excellent_quota"]
        policy = replace(
            policies.load(head["policy_version"]),
            excellent_quota=None if quota is None else Decimal(quota),
        )
        done = await assessment.publish_locked(
            rt,
            conn,
            actor,
            year=year,
            district_id=district_id,
            policy=policy,
            reason=f"objection {objection_id} upheld: {reason}"[:500],
            supersedes=head["assessment_id"],
            upholds=objection_id,
            deadline=(head["objection_deadline"], head["deadline_provisional"]),
        )
        carried = await store.windows(conn, head["assessment_id"])
        await store.add_windows(
            conn,
            done.assessment_id,
            [(w["subject_kind"], w["subject_id"], w["deadline"]) for w in carried],
        )
        changed = await store.regraded(conn, head["assessment_id"], done.assessment_id)
        cal = await working_calendar.calendar(conn)
        window = cal.add_working_days(now, policy.objection_working_days).at
        await store.add_windows(
            conn,
            done.assessment_id,
            [(c["subject_kind"], c["subject_id"], window) for c in changed],
        )
        await store.decide(
            conn,
            objection_id,
            state="upheld",
            by=actor.subject,
            at=now,
            reason=reason,
            corrections={k: format(v, "f") for k, v in values.items()},
            corrected_assessment_id=done.assessment_id,
        )
        await uow.emit(
            ObjectionUpheld(
                objection_id=objection_id,
                assessment_id=row["assessment_id"],
                district_id=district_id,
                year=year,
                subject_kind=row["subject_kind"],
                subject_id=row["subject_id"],
                decided_by=actor.subject,
                decided_at=now,
                corrected_assessment_id=done.assessment_id,
                regraded=[c["subject_id"] for c in changed],
                objection_deadline=window,
            )
        )
        await store.audit(
            conn,
            district_id=district_id,
            year=year,
            assessment_id=done.assessment_id,
            action="objection_upheld",
            actor=actor.subject,
            at=now,
            detail={
                "objection_id": objection_id,
                "reason": reason,
                "corrections": {k: format(v, "f") for k, v in values.items()},
                "regraded": [
                    {
                        "subject_kind": c["subject_kind"],
                        "subject_id": c["subject_id"],
                        "before": c["grade_before"],
                        "after": c["grade_after"],
                    }
                    for c in changed
                ],
                "window": window,
            },
        )
        decided = await store.objection(conn, objection_id)
    assert decided is not None
    log.info(
        "objection.upheld",
        objection_id=str(objection_id),
        regraded=len(changed),
        **actor.log_fields(),
    )
    return {
        **objection_dict(decided),
        "regraded": [
            {
                "subject_kind": c["subject_kind"],
                "subject_id": str(c["subject_id"]),
                "grade_before": c["grade_before"],
                "grade_after": c["grade_after"],
            }
            for c in changed
        ],
        "objection_deadline": window.isoformat(),
    }


async def finalise(
    rt: EvaluationRuntime, actor: Actor, district_id: UUID, year: int
) -> dict[str, Any]:
    """After the last objection window (business time) with no open objection: the scores
    are final, and member.scored and unit.scored say so (same assessment, same scores),
    followed by assessment.finalised."""
    year = assessment.check_year(year)
    await assessment.authorize_district(rt, actor, district_id)
    async with rt.unit_of_work() as uow:
        conn = uow.conn
        await assessments_store.lock_district_year(conn, district_id, year)
        head = await assessments_store.current(conn, district_id, year)
        if head is None:
            raise NotFound(
                f"no published assessment for {year} in district {district_id}",
                field="body.district_id",
            )
        windows = await store.windows(conn, head["assessment_id"])
        now = rt.clock.now()
        end = (
            rules.period_end(head["objection_deadline"], [w["deadline"] for w in windows])
            if head["objection_deadline"] is not None
            else now
        )
        why = rules.why_not_final(
            head["state"], now, end, await store.open_count(conn, district_id, year)
        )
        if why is not None:
            raise Conflict(why)
        await store.set_final(conn, head["assessment_id"], actor.subject, now)
        results = await assessments_store.results(conn, head["assessment_id"])
        await _emit_final(conn, rt.outbox, head, results)
        await uow.emit(
            AssessmentFinalised(
                assessment_id=head["assessment_id"],
                district_id=district_id,
                year=year,
                policy_version=head["policy_version"],
                finalised_by=actor.subject,
                finalised_at=now,
            )
        )
        await store.audit(
            conn,
            district_id=district_id,
            year=year,
            assessment_id=head["assessment_id"],
            action="finalised",
            actor=actor.subject,
            at=now,
            detail={"period_end": end},
        )
    log.info(
        "assessment.finalised",
        assessment_id=str(head["assessment_id"]),
        year=year,
        **actor.log_fields(),
    )
    return {
        "assessment_id": str(head["assessment_id"]),
        "year": year,
        "state": "final",
        "finalised_at": now.isoformat(),
        "member_count": sum(1 for r in results if r["subject_kind"] == "member"),
        "unit_count": sum(1 for r in results if r["subject_kind"] == "unit"),
    }


async def _emit_final(
    conn: asyncpg.Connection, outbox: Outbox, head: asyncpg.Record, results: list[asyncpg.Record]
) -> None:
    cid = correlation_id.get()

    def build(rows: list[asyncpg.Record]) -> list[tuple[str, Envelope]]:
        out: list[tuple[str, Envelope]] = []
        for r in rows:
            common: dict[str, Any] = {
                "assessment_id": head["assessment_id"],
                "year": head["year"],
                "policy_version": head["policy_version"],
                "score": r["score"],
                "grade": Grade(r["grade"]),
                "components": {k: Decimal(v) for k, v in r["components"].items()},
                "supersedes_assessment_id": head["supersedes"],
                "state": "final",
            }
            event: MemberScored | UnitScored
            if r["subject_kind"] == "member":
                event = MemberScored(
                    member_id=r["subject_id"],
                    community_id=r["community_id"],
                    unit_id=r["unit_id"],
                    rank_in_community=r["rank_community"],
                    **common,
                )
            else:
                event = UnitScored(
                    unit_id=r["subject_id"], rank_in_district=r["rank_district"], **common
                )
            out.append((event.TOPIC, outbox.envelope(event, correlation_id=cid)))
        return out

    # Members first, then units, in subject order (as at publication).
    for start in range(0, len(results), BATCH):
        batch = await asyncio.to_thread(build, results[start : start + BATCH])
        await outbox.add_envelopes(conn, batch)


async def audit_trail(
    rt: EvaluationRuntime, actor: Actor, district_id: UUID, year: int
) -> list[dict[str, Any]]:
    year = assessment.check_year(year)
    await assessment.authorize_district(rt, actor, district_id)
    async with rt.pool.acquire() as conn:
        rows = await store.audit_trail(conn, district_id, year)
    return [
        {
            "assessment_id": str(r["assessment_id"]) if r["assessment_id"] else None,
            "action": r["action"],
            "actor": r["actor"],
            "at": r["at"].isoformat(),
            "detail": r["detail"],
        }
        for r in rows
    ]


async def attachment(
    rt: EvaluationRuntime, actor: Actor, objection_id: UUID, file_id: UUID
) -> tuple[asyncpg.Record, Path]:
    """An attachment's row and bytes' path: for the objector and the district's admins."""
    if actor.role not in {Role.DISTRICT_ADMIN, *rules.OBJECTOR_KINDS}:
        raise Forbidden(f"role {actor.role.value} may not read objections' attachments")
    async with rt.pool.acquire() as conn:
        row = await store.objection(conn, objection_id)
        f = await store.file_of(conn, file_id)
    if row is None or f is None or f["objection_id"] != objection_id:
        raise NotFound(f"no attachment {file_id} on objection {objection_id}", field="path.file_id")
    if actor.subject != row["filed_by"]:
        if actor.role != Role.DISTRICT_ADMIN:
            raise NotFound(
                f"no attachment {file_id} on objection {objection_id}", field="path.file_id"
            )
        await assessment.authorize_district(rt, actor, row["district_id"])
    path = ObjectionFiles(rt.settings.data_dir).path_of(f["sha256"])
    if not path.exists():
        raise NotFound("the attachment is missing from storage", field="path.file_id")
    return f, path
