"""Granting points: the year's rule set, the caps, the ledger entry and `points.awarded`,
all in the caller's transaction (an HTTP unit of work or a consumer's batch). One path awards:
`award_many` for a run, `award` as a run of one; `reverse` books a correction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar
from uuid import UUID

import asyncpg
from cobuild_contracts import Envelope, Event, uuid7
from cobuild_contracts.events.commitments import CommitmentFulfilled, Participant
from cobuild_contracts.events.points import PointsAwarded, PointsReversed
from cobuild_kit.clock import business_date
from cobuild_kit.errors import Conflict, NotFound
from cobuild_kit.logging import get_logger

from cobuild_points.domain.rules import Award, CapTally, Rule, RuleSet, compute_award, part_keys
from cobuild_points.store import ledger, members, rulebook, usage

log = get_logger(__name__)
Emit = Callable[[Event], Awaitable[Envelope]]
Cause = TypeVar("Cause")  # what an award's event is caused by: an envelope in a consumer's run

TASK_RULE = "task"  # the rule set's code for co-building task participation
_LOGGED_IDS = 20  # member ids named in a run's unknown-participants line


@dataclass(frozen=True)
class AwardRequest:
    member_id: UUID
    rule_code: str
    hours: Decimal | None
    cause_event_id: UUID
    business_date: date
    source_id: UUID
    community_id: UUID
    unit_id: UUID
    at: datetime
    what: str  # what earned it, e.g. "activity <id>": ids only, never personal data


async def award(conn: asyncpg.Connection, emit: Emit, req: AwardRequest) -> asyncpg.Record | None:
    """The new entry; None when this cause was already awarded or the caps leave nothing."""

    async def emit_one(event: Event, _cause: None) -> Envelope:
        return await emit(event)

    entries = await award_many(conn, emit_one, [(None, req)])
    return entries[0] if entries else None


async def award_many(
    conn: asyncpg.Connection,
    emit: Callable[[Event, Cause], Awaitable[Envelope]],
    reqs: list[tuple[Cause, AwardRequest]],
) -> list[asyncpg.Record]:
    """The new entries of (cause, request)s, awarded in order with one statement per table:
    each chain head locked once, entries appended in order, caps counted as they grow. A
    request whose cause was already awarded, or that the caps leave nothing, adds no entry."""
    if not reqs:
        return []
    first_at: dict[int, datetime] = {}
    for _, req in reqs:
        first_at.setdefault(req.business_date.year, req.at)
    rule_sets = await rulebook.for_years(conn, first_at)
    chains = [(req.member_id, req.business_date.year) for _, req in reqs]
    appends = ledger.ChainAppends(await ledger.lock_chains(conn, chains))
    done = await ledger.awarded_causes(
        conn, [(r.cause_event_id, r.member_id, r.rule_code) for _, r in reqs]
    )
    rules = [rule_sets[r.business_date.year].rule(r.rule_code) for _, r in reqs]
    wanted = [
        (r.member_id, r.business_date, r.source_id, rule.category.value)
        for (_, r), rule in zip(reqs, rules, strict=True)
    ]
    tally = CapTally(await usage.of_awards(conn, wanted))
    staged: list[tuple[Cause, UUID]] = []
    capped_out = 0
    for (cause, req), rule, keys in zip(reqs, rules, [part_keys(*w) for w in wanted], strict=True):
        rule_set = rule_sets[req.business_date.year]
        if (req.cause_event_id, req.member_id, req.rule_code) in done:
            continue
        result = compute_award(rule_set, rule, req.hours, tally.of(keys))
        if result.points <= 0:
            log.debug(  # a line per award: the run's count below
                "points.nothing_left_under_caps",
                member_id=str(req.member_id),
                cause_event_id=str(req.cause_event_id),
                cap=result.cap_reason,
            )
            capped_out += 1
            continue
        staged.append((cause, appends.add(_new_entry(req, rule_set, rule, result))))
        done.add((req.cause_event_id, req.member_id, req.rule_code))
        tally.add(keys, result.points)
    if capped_out:
        log.info("points.nothing_left_under_caps", awards=capped_out, of=len(reqs))
    rows = await appends.write(conn)
    for cause, entry_id in staged:
        await emit(awarded_event(rows[entry_id]), cause)
    return [rows[entry_id] for _, entry_id in staged]


def _new_entry(req: AwardRequest, rule_set: RuleSet, rule: Rule, result: Award) -> ledger.NewEntry:
    hours = f" for {req.hours} h" if req.hours is not None else ""
    return ledger.NewEntry(
        member_id=req.member_id,
        year=req.business_date.year,
        kind="award",
        points=result.points,
        reason=f"{rule.label}: {req.what}{hours}{result.reason_suffix}",
        cause_event_id=req.cause_event_id,
        rule_code=rule.code,
        rule_set_version=rule_set.version,
        category=rule.category.value,
        source_id=req.source_id,
        community_id=req.community_id,
        unit_id=req.unit_id,
        business_date=req.business_date,
        recorded_at=req.at,
        capped=result.capped,
        cap_reason=result.cap_reason,
    )


def awarded_event(entry: asyncpg.Record) -> PointsAwarded:
    return PointsAwarded(
        entry_id=entry["entry_id"],
        member_id=entry["member_id"],
        year=entry["year"],
        points=entry["points"],
        reason=entry["reason"],
        cause_event_id=entry["cause_event_id"],
        rule_code=entry["rule_code"],
        rule_set_version=entry["rule_set_version"],
        community_id=entry["community_id"],
        unit_id=entry["unit_id"],
        business_date=entry["business_date"],
        capped=entry["capped"],
        awarded_at=entry["recorded_at"],
    )


# --- task points from fulfilled commitments ----------------------------------------------

EmitCaused = Callable[[Event, Envelope], Awaitable[Envelope]]


async def award_tasks(
    conn: asyncpg.Connection,
    emit: EmitCaused,
    items: list[tuple[Envelope, CommitmentFulfilled]],
) -> list[asyncpg.Record]:
    """Each participant of each event, in order, under the `task` rule; the business date is
    the day the work was done, so replays award the same."""
    ids = {p.member_id for _, e in items for p in e.participants}
    known = await members.placements(conn, list(ids))
    reqs: list[tuple[Envelope, AwardRequest]] = []
    unknown: list[str] = []
    for env, event in items:
        for participant in event.participants:
            if participant.member_id not in known:
                unknown.append(str(participant.member_id))
            reqs.append((env, _task_award(env, event, participant, known)))
    if unknown:  # one line per run: a line per event would cost more than the award
        log.warning(
            "points.unknown_participants",
            count=len(unknown),
            member_ids=sorted(set(unknown))[:_LOGGED_IDS],
        )
    return await award_many(conn, emit, reqs)


def _task_award(
    env: Envelope,
    event: CommitmentFulfilled,
    participant: Participant,
    known: dict[UUID, tuple[UUID | None, UUID]],
) -> AwardRequest:
    placement = known.get(participant.member_id)
    if placement is None:  # not registered here (yet): still theirs, booked where the work was
        log.debug(
            "points.unknown_participant",
            member_id=str(participant.member_id),
            commitment_id=str(event.commitment_id),
        )
    community_id = (placement and placement[0]) or event.community_id
    unit_id = placement[1] if placement else event.unit_id
    return AwardRequest(
        member_id=participant.member_id,
        rule_code=TASK_RULE,
        hours=participant.hours,
        cause_event_id=env.event_id,
        business_date=event.done_date,
        source_id=event.commitment_id,
        community_id=community_id,
        unit_id=unit_id,
        at=event.confirmed_at,
        what=f"commitment {event.commitment_id}",
    )


# --- corrections -------------------------------------------------------------------------


async def reverse(
    conn: asyncpg.Connection, emit: Emit, entry_id: UUID, *, reason: str, at: datetime
) -> asyncpg.Record:
    """A negative entry in the original's member-year chain, and `points.reversed`."""
    original = await ledger.entry(conn, entry_id)
    if original is None:
        raise NotFound(f"points entry {entry_id} not found")
    if original["kind"] != "award":
        raise Conflict("entry is a reversal: reversals are not reversed")
    chain = (original["member_id"], original["year"])
    appends = ledger.ChainAppends(await ledger.lock_chains(conn, [chain]))
    done = await ledger.reversal_of(conn, entry_id)
    if done is not None:
        raise Conflict(f"entry is already reversed (by entry {done})")
    new_id = appends.add(
        ledger.NewEntry(
            member_id=original["member_id"],
            year=original["year"],
            kind="reversal",
            points=-original["points"],
            reason=reason,
            cause_event_id=uuid7(),
            rule_code=original["rule_code"],
            rule_set_version=original["rule_set_version"],
            category=original["category"],
            source_id=original["source_id"],
            community_id=original["community_id"],
            unit_id=original["unit_id"],
            business_date=business_date(at),
            recorded_at=at,
            reverses_entry_id=entry_id,
        )
    )
    reversal = (await appends.write(conn))[new_id]
    await emit(
        PointsReversed(
            entry_id=reversal["entry_id"],
            reverses_entry_id=original["entry_id"],
            member_id=reversal["member_id"],
            year=reversal["year"],
            points=original["points"],
            reason=reason,
            cause_event_id=reversal["cause_event_id"],
            community_id=reversal["community_id"],
            unit_id=reversal["unit_id"],
            business_date=reversal["business_date"],
            reversed_at=at,
        )
    )
    return reversal
