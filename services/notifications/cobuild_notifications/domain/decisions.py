"""Which change notifies whom: one function per event type, from the event and what the
service learnt before it (a commitment's parties and members, an agreement's parties, a
whistle's raiser). Deterministic in the event: a redelivered event decides the same."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from cobuild_contracts import Role
from cobuild_contracts.events import agreements as ag
from cobuild_contracts.events import commitments as cm
from cobuild_contracts.events import escalations as es
from cobuild_contracts.events import evaluation as ev
from cobuild_contracts.events import points as pt
from cobuild_kit.clock import BUSINESS_TZ

from cobuild_notifications.domain.audience import (
    Audience,
    Decision,
    Followers,
    Members,
    PartyRoles,
    Subjects,
)
from cobuild_notifications.domain.kinds import Kind


@dataclass(frozen=True)
class CommitmentView:
    """A commitment as the notifications service knows it (from commitment.opened and
    task.assigned)."""

    commitment_id: UUID
    agreement_id: UUID
    obligor_party_id: UUID
    beneficiary_party_id: UUID
    title: str
    deadline: str
    member_ids: tuple[UUID, ...] = ()


def _commitment_link(c: CommitmentView) -> str:
    return f"/tasks/{c.commitment_id}"


def _about(c: CommitmentView) -> tuple[Followers, ...]:
    return (Followers("commitment", c.commitment_id), Followers("agreement", c.agreement_id))


def _obligor_side(c: CommitmentView) -> tuple[Audience, ...]:
    """The obligor's workers and the members assigned to the work."""
    side: list[Audience] = [PartyRoles(c.obligor_party_id)]
    if c.member_ids:
        side.append(Members(c.member_ids))
    return tuple(side)


def _on_commitment(
    c: CommitmentView, kind: Kind, audiences: tuple[Audience, ...], **params: str
) -> Decision:
    return Decision(
        kind=kind,
        params={"title": c.title, "deadline": c.deadline, **params},
        audiences=audiences,
        link=_commitment_link(c),
        followers=_about(c),
    )


def reminder_due(e: cm.CommitmentReminderDue, c: CommitmentView) -> Decision:
    return _on_commitment(c, Kind.REMINDER_DUE, _obligor_side(c), days_left=str(e.days_left))


def overdue(c: CommitmentView) -> Decision:
    """To the obligor's workers and assigned members, and to the beneficiary's workers."""
    both = (*_obligor_side(c), PartyRoles(c.beneficiary_party_id))
    return _on_commitment(c, Kind.OVERDUE, both)


def assigned(e: cm.TaskAssigned, c: CommitmentView) -> Decision:
    return _on_commitment(c, Kind.ASSIGNED, (Members(tuple(e.member_ids)),))


def done(c: CommitmentView) -> Decision:
    """Marked done: the beneficiary's workers are asked to confirm (or refuse) it."""
    return _on_commitment(c, Kind.DONE, (PartyRoles(c.beneficiary_party_id),))


def confirmed(e: cm.CommitmentFulfilled, c: CommitmentView) -> Decision:
    """The beneficiary confirmed: the obligor's workers and everyone who took part hear."""
    took_part = tuple(dict.fromkeys([*c.member_ids, *(p.member_id for p in e.participants)]))
    audiences: list[Audience] = [PartyRoles(c.obligor_party_id)]
    if took_part:
        audiences.append(Members(took_part))
    on_time = "yes" if e.on_time else "no"
    return _on_commitment(c, Kind.CONFIRMED, tuple(audiences), on_time=on_time)


def refused(e: cm.CommitmentConfirmationRefused, c: CommitmentView) -> Decision:
    return _on_commitment(c, Kind.REFUSED, _obligor_side(c), reason=e.reason)


def cancelled(e: cm.CommitmentCancelled, c: CommitmentView) -> Decision:
    both = (*_obligor_side(c), PartyRoles(c.beneficiary_party_id))
    return _on_commitment(c, Kind.CANCELLED, both, reason=e.reason)


def proposal(e: ag.ProposalMade | ag.ProposalCountered) -> Decision:
    """A draft proposed or countered: the other side hears."""
    other = e.unit_id if e.proposed_by == e.community_id else e.community_id
    return Decision(
        kind=Kind.PROPOSAL,
        params={"version": str(e.version), "items": str(len(e.items))},
        audiences=(PartyRoles(other),),
        link=f"/agreements/{e.agreement_id}",
        followers=(Followers("agreement", e.agreement_id),),
    )


def signed(e: ag.AgreementSigned) -> Decision:
    return Decision(
        kind=Kind.SIGNED,
        params={"items": str(len(e.items)), "term_end": e.term_end.isoformat()},
        audiences=(PartyRoles(e.community_id), PartyRoles(e.unit_id)),
        link=f"/agreements/{e.agreement_id}",
        followers=(
            Followers("agreement", e.agreement_id),
            *tuple(Followers("need", i.need_id) for i in e.items if i.need_id is not None),
        ),
    )


def amended(e: ag.AgreementAmended, parties: tuple[UUID, ...]) -> Decision:
    return Decision(
        kind=Kind.AMENDED,
        params={
            "added": str(len(e.added_items)),
            "cancelled": str(len(e.cancelled_commitment_ids)),
            "reason": e.reason,
        },
        audiences=tuple(PartyRoles(p) for p in parties),
        link=f"/agreements/{e.agreement_id}",
        followers=(Followers("agreement", e.agreement_id),),
    )


def match(e: ag.MatchSuggested) -> Decision:
    return Decision(
        kind=Kind.MATCH,
        params={"rank": str(e.rank)},
        audiences=(PartyRoles(e.community_id), PartyRoles(e.unit_id)),
        link=f"/needs/{e.need_id}",
        followers=(Followers("need", e.need_id),),
    )


def report_accepted(e: pt.MemberReported) -> Decision:
    """报到 accepted: the member hears (by their subject when the event names it, since their
    member grant may not have reached us yet)."""
    audiences: list[Audience] = [Members((e.member_id,))]
    if e.subject:
        audiences.append(Subjects((e.subject,)))
    return Decision(kind=Kind.REPORT_ACCEPTED, params={}, audiences=tuple(audiences), link="/m/")


def report_declined(e: pt.MemberReportDeclined) -> Decision:
    """报到 declined: the member hears why (by their subject too, as for an acceptance: a
    person who asked signed in may hold no member grant)."""
    audiences: list[Audience] = [Members((e.member_id,))]
    if e.subject:
        audiences.append(Subjects((e.subject,)))
    return Decision(
        kind=Kind.REPORT_DECLINED, params={"reason": e.reason}, audiences=tuple(audiences),
        link="/m/",
    )  # fmt: skip


@dataclass(frozen=True)
class ActivityView:
    """An activity as the notifications service knows it (from activity.published)."""

    activity_id: UUID
    community_id: UUID
    title: str
    starts_at: datetime


def _local(at: datetime) -> str:
    return at.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M")


def sign_up(
    a: ActivityView, member_id: UUID, step: str, *, by_community: bool = False, hours: str = ""
) -> Decision:
    """A sign-up confirmed (the place is held at once), cancelled, or its attendance
    confirmed with hours: that member alone hears, and whether the community did it."""
    return Decision(
        kind=Kind.SIGN_UP,
        params={
            "step": step, "title": a.title, "starts_at": _local(a.starts_at),
            "by": "community" if by_community else "member", "hours": hours,
        },
        audiences=(Members((member_id,)),),
        link="/m/activities",
    )  # fmt: skip


def street_news(
    item_kind: str, item_id: UUID, title: str, place: str, who: tuple[str, ...], link: str
) -> Decision:
    """A need or resource new in the street: for the digests of those who may see it (the
    use case has chosen them), checked again before the digest goes."""
    return Decision(
        kind=Kind.STREET,
        params={"item": item_kind, "title": title, "place": place},
        audiences=(Subjects(who),),
        link=link,
        digest_only=True,
        about=(item_kind, item_id),
    )


def member_scored(e: ev.MemberScored) -> Decision:
    return Decision(
        kind=Kind.SCORED,
        params={
            "year": str(e.year),
            "score": str(e.score),
            "grade": str(e.grade),
            "state": str(getattr(e, "state", None) or "final"),
        },
        audiences=(Members((e.member_id,)),),
        link="/m/points",
    )


def unit_scored(e: ev.UnitScored) -> Decision:
    return Decision(
        kind=Kind.SCORED,
        params={
            "year": str(e.year),
            "score": str(e.score),
            "grade": str(e.grade),
            "state": str(getattr(e, "state", None) or "final"),
        },
        audiences=(PartyRoles(e.unit_id, frozenset({Role.UNIT_ADMIN})),),
        link="/board",
    )


def assessment(e: ev.AssessmentCompleted) -> Decision | None:
    """An assessment completed (公示 or final): the district's admins hear."""
    if e.district_id is None:
        return None
    return Decision(
        kind=Kind.ASSESSMENT,
        params={"year": str(e.year), "state": str(getattr(e, "state", None) or "final")},
        audiences=(PartyRoles(e.district_id, frozenset({Role.DISTRICT_ADMIN})),),
        link="/board",
    )


def whistle_routed(e: es.WhistleRouted) -> Decision:
    return Decision(
        kind=Kind.WHISTLE,
        params={"step": "routed", "due": e.respond_by.isoformat()},
        audiences=(PartyRoles(e.receiver_party_id),),
        link=f"/whistles/{e.whistle_id}",
    )


def whistle_escalated(e: es.WhistleEscalated) -> Decision:
    return Decision(
        kind=Kind.WHISTLE,
        params={"step": "escalated", "due": e.due_at.isoformat()},
        audiences=(PartyRoles(e.to_party_id), PartyRoles(e.receiver_party_id)),
        link=f"/whistles/{e.whistle_id}",
    )


def whistle_resolved(e: es.WhistleResolved, raiser_party_id: UUID) -> Decision:
    return Decision(
        kind=Kind.WHISTLE,
        params={"step": "resolved", "due": e.resolve_by.isoformat()},
        audiences=(PartyRoles(raiser_party_id),),
        link=f"/whistles/{e.whistle_id}",
    )


def objection_decided(
    e: ev.ObjectionUpheld | ev.ObjectionRejected, filed_by: str | None
) -> Decision:
    """An objection decided: who filed it (learnt from objection.filed), and the member or
    unit it was about."""
    about: Audience = (
        Members((e.subject_id,))
        if e.subject_kind == "member"
        else PartyRoles(e.subject_id, frozenset({Role.UNIT_ADMIN}))
    )
    upheld = isinstance(e, ev.ObjectionUpheld)
    return Decision(
        kind=Kind.OBJECTION,
        params={"year": str(e.year), "outcome": "upheld" if upheld else "rejected"},
        audiences=(Subjects((filed_by,) if filed_by else ()), about),
        link="/m/objection" if e.subject_kind == "member" else "/assessment",
    )


def finalised(e: ev.AssessmentFinalised) -> Decision:
    return Decision(
        kind=Kind.ASSESSMENT,
        params={"year": str(e.year), "state": "final"},
        audiences=(PartyRoles(e.district_id, frozenset({Role.DISTRICT_ADMIN})),),
        link="/assessment",
    )
