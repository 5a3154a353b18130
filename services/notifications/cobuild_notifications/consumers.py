"""Events in: every producing service's topic. Each handler first records what later events
need (grants, parties, a commitment's parties and members, an agreement's parties, a
whistle's raiser, an activity's title, the needs and resources of the street's news), then
decides who hears and writes the inbox rows and deliveries in the same transaction as the
kit's inbox entry (`usecases.deciding`), so a redelivered event writes nothing twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

from cobuild_contracts import Event, topics
from cobuild_contracts.events import access as ac
from cobuild_contracts.events import agreements as ag
from cobuild_contracts.events import commitments as cm
from cobuild_contracts.events import escalations as es
from cobuild_contracts.events import evaluation as ev
from cobuild_contracts.events import points as pt
from cobuild_kit.consumer import ConsumerSpec, EventContext, Handler
from cobuild_kit.parties import apply_party
from cobuild_kit.pending import Awaiting

from cobuild_notifications.domain import decisions
from cobuild_notifications.domain.audience import Decision
from cobuild_notifications.domain.decisions import ActivityView, CommitmentView
from cobuild_notifications.domain.kinds import Channel
from cobuild_notifications.store import directory
from cobuild_notifications.store import street as items
from cobuild_notifications.usecases import deciding, street

Decide = Callable[[EventContext, Any], Awaitable[Decision | None]]
_HANDLERS: dict[str, Decide] = {}
E = TypeVar("E", bound=Event)


def _on(cls: type[E]) -> Callable[[Callable[[EventContext, E], Awaitable[Decision | None]]], Any]:
    """Register a handler: it records what it must and returns who is to hear (or None)."""

    def register(fn: Callable[[EventContext, E], Awaitable[Decision | None]]) -> Any:
        _HANDLERS[cls.EVENT_TYPE] = fn
        return fn

    return register


def consumer(channels: frozenset[Channel]) -> ConsumerSpec:
    """The service's group over every producing service's topic; `channels` are those
    outside the app that can send here (no delivery is written for the others)."""
    spec = ConsumerSpec(
        purpose="events",
        topics=[
            topics.ACCESS,
            topics.AGREEMENTS,
            topics.COMMITMENTS,
            topics.POINTS,
            topics.EVALUATION,
            topics.ESCALATIONS,
        ],
    )
    for event_type, decide in _HANDLERS.items():
        spec.handlers[event_type] = _notifying(decide, channels)
    return spec


def _notifying(decide: Decide, channels: frozenset[Channel]) -> Handler:
    async def handle(ctx: EventContext, event: Any) -> None:
        decision = await decide(ctx, event)
        if decision is not None:
            env = ctx.envelope
            await deciding.notify(ctx.conn, env.event_id, decision, env.occurred_at, channels)

    return handle


async def _commitment(ctx: EventContext, commitment_id: UUID) -> CommitmentView:
    c = await directory.commitment(ctx.conn, commitment_id)
    if c is None:  # its commitment.opened is behind it on the same key: wait for it
        raise Awaiting("commitment", commitment_id, "commitment.opened not seen yet")
    return c


# -- access ---------------------------------------------------------------------------


@_on(ac.GrantAdded)
async def on_grant_added(ctx: EventContext, e: ac.GrantAdded) -> Decision | None:
    await directory.grant_added(ctx.conn, e.grant_id, e.subject, e.role, e.party_id, e.granted_at)
    return None


@_on(ac.GrantRevoked)
async def on_grant_revoked(ctx: EventContext, e: ac.GrantRevoked) -> Decision | None:
    await directory.grant_revoked(ctx.conn, e.grant_id, e.subject, e.role, e.party_id, e.revoked_at)
    return None


# -- commitments ----------------------------------------------------------------------


@_on(cm.CommitmentOpened)
async def on_opened(ctx: EventContext, e: cm.CommitmentOpened) -> Decision | None:
    view = CommitmentView(
        commitment_id=e.commitment_id, agreement_id=e.agreement_id,
        obligor_party_id=e.obligor_party_id, beneficiary_party_id=e.beneficiary_party_id,
        title=e.title, deadline=e.deadline.isoformat(),
    )  # fmt: skip
    await directory.commitment_opened(ctx.conn, view)
    await ctx.known("commitment", e.commitment_id)
    return None


@_on(cm.TaskAssigned)
async def on_assigned(ctx: EventContext, e: cm.TaskAssigned) -> Decision | None:
    c = await _commitment(ctx, e.commitment_id)
    await directory.members_assigned(ctx.conn, e.commitment_id, e.member_ids)
    return decisions.assigned(e, c)


@_on(cm.CommitmentReminderDue)
async def on_reminder(ctx: EventContext, e: cm.CommitmentReminderDue) -> Decision | None:
    return decisions.reminder_due(e, await _commitment(ctx, e.commitment_id))


@_on(cm.CommitmentOverdue)
async def on_overdue(ctx: EventContext, e: cm.CommitmentOverdue) -> Decision | None:
    return decisions.overdue(await _commitment(ctx, e.commitment_id))


@_on(cm.CommitmentMarkedDone)
async def on_marked_done(ctx: EventContext, e: cm.CommitmentMarkedDone) -> Decision | None:
    return decisions.done(await _commitment(ctx, e.commitment_id))


@_on(cm.CommitmentFulfilled)
async def on_fulfilled(ctx: EventContext, e: cm.CommitmentFulfilled) -> Decision | None:
    return decisions.confirmed(e, await _commitment(ctx, e.commitment_id))


@_on(cm.CommitmentConfirmationRefused)
async def on_refused(ctx: EventContext, e: cm.CommitmentConfirmationRefused) -> Decision | None:
    return decisions.refused(e, await _commitment(ctx, e.commitment_id))


@_on(cm.CommitmentCancelled)
async def on_cancelled(ctx: EventContext, e: cm.CommitmentCancelled) -> Decision | None:
    return decisions.cancelled(e, await _commitment(ctx, e.commitment_id))


# -- agreements -----------------------------------------------------------------------


@_on(ag.PartyRegistered)
async def on_party_registered(ctx: EventContext, e: ag.PartyRegistered) -> Decision | None:
    await apply_party(ctx.conn, e)
    await ctx.known("party", e.party_id)
    return None


@_on(ag.PartyUpdated)
async def on_party_updated(ctx: EventContext, e: ag.PartyUpdated) -> Decision | None:
    await apply_party(ctx.conn, e)
    await ctx.known("party", e.party_id)
    return None


@_on(ag.NeedPublished)
async def on_need(ctx: EventContext, e: ag.NeedPublished) -> Decision | None:
    item = items.Item(
        item_id=e.need_id, item_kind="need", party_id=e.community_id, title=e.title,
        visibility=e.visibility.value, community_ids=(), available_until=None,
        version=e.version, open=True,
    )  # fmt: skip
    return await street.published(ctx.conn, item, f"/needs/{e.need_id}", ctx.envelope.occurred_at)


@_on(ag.ResourceOffered)
async def on_resource(ctx: EventContext, e: ag.ResourceOffered) -> Decision | None:
    item = items.Item(
        item_id=e.resource_id, item_kind="resource", party_id=e.unit_id, title=e.title,
        visibility="public", community_ids=tuple(e.community_ids),
        available_until=e.available_until, version=e.version, open=True,
    )  # fmt: skip
    link = f"/resources/{e.resource_id}"
    return await street.published(ctx.conn, item, link, ctx.envelope.occurred_at)


@_on(ag.NeedWithdrawn)
async def on_need_withdrawn(ctx: EventContext, e: ag.NeedWithdrawn) -> Decision | None:
    await items.closed(ctx.conn, e.need_id, e.withdrawn_at)
    return None


@_on(ag.NeedClaimed)
async def on_need_claimed(ctx: EventContext, e: ag.NeedClaimed) -> Decision | None:
    await items.closed(ctx.conn, e.need_id, e.claimed_at)
    return None


@_on(ag.ResourceWithdrawn)
async def on_resource_withdrawn(ctx: EventContext, e: ag.ResourceWithdrawn) -> Decision | None:
    await items.closed(ctx.conn, e.resource_id, e.withdrawn_at)
    return None


@_on(ag.ProposalMade)
async def on_proposed(ctx: EventContext, e: ag.ProposalMade) -> Decision | None:
    await directory.agreement_parties(ctx.conn, e.agreement_id, e.community_id, e.unit_id)
    return decisions.proposal(e)


@_on(ag.ProposalCountered)
async def on_countered(ctx: EventContext, e: ag.ProposalCountered) -> Decision | None:
    await directory.agreement_parties(ctx.conn, e.agreement_id, e.community_id, e.unit_id)
    return decisions.proposal(e)


@_on(ag.AgreementSigned)
async def on_signed(ctx: EventContext, e: ag.AgreementSigned) -> Decision | None:
    await directory.agreement_parties(ctx.conn, e.agreement_id, e.community_id, e.unit_id)
    return decisions.signed(e)


@_on(ag.AgreementAmended)
async def on_amended(ctx: EventContext, e: ag.AgreementAmended) -> Decision | None:
    parties = await directory.parties_of(ctx.conn, e.agreement_id)
    return decisions.amended(e, parties)


@_on(ag.MatchSuggested)
async def on_match(ctx: EventContext, e: ag.MatchSuggested) -> Decision | None:
    return decisions.match(e)


# -- points and evaluation ------------------------------------------------------------


@_on(pt.MemberReported)
async def on_reported(ctx: EventContext, e: pt.MemberReported) -> Decision | None:
    return decisions.report_accepted(e)


@_on(pt.MemberReportDeclined)
async def on_report_declined(ctx: EventContext, e: pt.MemberReportDeclined) -> Decision | None:
    return decisions.report_declined(e)


@_on(pt.ActivityPublished)
async def on_activity(ctx: EventContext, e: pt.ActivityPublished) -> Decision | None:
    view = ActivityView(e.activity_id, e.community_id, e.title, e.starts_at)
    await directory.activity_published(ctx.conn, view)
    await ctx.known("activity", e.activity_id)
    return None


async def _activity_of(ctx: EventContext, activity_id: UUID, member_id: UUID) -> ActivityView | None:
    """The activity, when the member has anyone to tell (most members never signed in: one
    query, and nothing awaited for them)."""
    if not await directory.member_subjects(ctx.conn, (member_id,)):
        return None
    a = await directory.activity(ctx.conn, activity_id)
    if a is None:  # attendance.confirmed travels by member: its activity may come later
        raise Awaiting("activity", activity_id, "activity.published not seen yet")
    return a


@_on(pt.ActivitySignedUp)
async def on_signed_up(ctx: EventContext, e: pt.ActivitySignedUp) -> Decision | None:
    a = await _activity_of(ctx, e.activity_id, e.member_id)
    if a is None:
        return None
    return decisions.sign_up(a, e.member_id, "confirmed", by_community=e.by_community)


@_on(pt.ActivitySignUpCancelled)
async def on_sign_up_cancelled(
    ctx: EventContext, e: pt.ActivitySignUpCancelled
) -> Decision | None:
    a = await _activity_of(ctx, e.activity_id, e.member_id)
    if a is None:
        return None
    return decisions.sign_up(a, e.member_id, "cancelled", by_community=e.by_community)


@_on(pt.AttendanceConfirmed)
async def on_attendance(ctx: EventContext, e: pt.AttendanceConfirmed) -> Decision | None:
    a = await _activity_of(ctx, e.activity_id, e.member_id)
    if a is None:
        return None
    return decisions.sign_up(a, e.member_id, "attended", by_community=True, hours=str(e.hours))


@_on(ev.MemberScored)
async def on_member_scored(ctx: EventContext, e: ev.MemberScored) -> Decision | None:
    return decisions.member_scored(e)


@_on(ev.UnitScored)
async def on_unit_scored(ctx: EventContext, e: ev.UnitScored) -> Decision | None:
    return decisions.unit_scored(e)


@_on(ev.AssessmentCompleted)
async def on_assessment(ctx: EventContext, e: ev.AssessmentCompleted) -> Decision | None:
    return decisions.assessment(e)


@_on(ev.AssessmentFinalised)
async def on_finalised(ctx: EventContext, e: ev.AssessmentFinalised) -> Decision | None:
    return decisions.finalised(e)


@_on(ev.ObjectionFiled)
async def on_objection_filed(ctx: EventContext, e: ev.ObjectionFiled) -> Decision | None:
    await directory.objection_filed(ctx.conn, e.objection_id, e.filed_by)
    return None


@_on(ev.ObjectionUpheld)
async def on_upheld(ctx: EventContext, e: ev.ObjectionUpheld) -> Decision | None:
    return decisions.objection_decided(e, await directory.filer_of(ctx.conn, e.objection_id))


@_on(ev.ObjectionRejected)
async def on_rejected(ctx: EventContext, e: ev.ObjectionRejected) -> Decision | None:
    return decisions.objection_decided(e, await directory.filer_of(ctx.conn, e.objection_id))


# -- escalations (吹哨报到) -------------------------------------------------------------


@_on(es.WhistleRaised)
async def on_raised(ctx: EventContext, e: es.WhistleRaised) -> Decision | None:
    await directory.whistle_raised(ctx.conn, e.whistle_id, e.raiser_party_id)
    return None


@_on(es.WhistleRouted)
async def on_routed(ctx: EventContext, e: es.WhistleRouted) -> Decision | None:
    return decisions.whistle_routed(e)


@_on(es.WhistleEscalated)
async def on_escalated(ctx: EventContext, e: es.WhistleEscalated) -> Decision | None:
    return decisions.whistle_escalated(e)


@_on(es.WhistleResolved)
async def on_resolved(ctx: EventContext, e: es.WhistleResolved) -> Decision | None:
    raiser = await directory.raiser_of(ctx.conn, e.whistle_id)
    if raiser is not None:
        return decisions.whistle_resolved(e, raiser)
    return None
