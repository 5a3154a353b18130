"""The whistle's rules without a database: routing by specificity, limits, escalation levels."""

from __future__ import annotations

from datetime import UTC, datetime, time
from uuid import UUID, uuid4

import pytest
from cobuild_contracts.enums import PartyKind
from cobuild_contracts.events.escalations import Level, ReceiverKind, TimeLimit, Urgency
from cobuild_escalations.domain.routing import (
    DEFAULT_LIMITS,
    LimitRule,
    Limits,
    RoutingRule,
    RoutingTable,
    Span,
    SpanUnit,
)
from cobuild_escalations.domain.rules import IllegalTransition, RuleViolation
from cobuild_escalations.domain.whistle import Place, State, Whistle
from cobuild_kit.working_time import WorkingHours

HOURS = WorkingHours(time(9), time(17))
T = datetime(2026, 3, 2, 2, tzinfo=UTC)
DISTRICT, STREET, COMMUNITY = uuid4(), uuid4(), uuid4()
D1, D2, D3 = uuid4(), uuid4(), uuid4()


def whistle(receiver: UUID, kind: ReceiverKind, level: Level = Level.COMMUNITY) -> Whistle:
    place = Place(COMMUNITY, PartyKind.COMMUNITY, COMMUNITY, STREET, DISTRICT)
    return Whistle(
        whistle_id=uuid4(), title="t", description="", category="c", urgency=Urgency.NORMAL,
        place=place, raiser_party_id=COMMUNITY, raiser_level=level, raised_by="s", raised_at=T,
        receiver_party_id=receiver, receiver_kind=kind, routing_district_id=DISTRICT,
        routing_version=0, respond_by=T, respond_by_provisional=False, resolve_by=T,
        resolve_by_provisional=False, level=level,
    )  # fmt: skip


def test_the_most_specific_rule_wins() -> None:
    table = RoutingTable(
        DISTRICT,
        1,
        rules=(
            RoutingRule(D1),  # anything
            RoutingRule(D2, category="noise"),
            RoutingRule(D3, category="noise", street_id=STREET),
        ),
    )
    assert table.department_for("noise", Level.COMMUNITY, STREET) == D3
    assert table.department_for("noise", Level.COMMUNITY, uuid4()) == D2
    assert table.department_for("roads", Level.STREET, STREET) == D1
    assert RoutingTable(DISTRICT, 0).department_for("noise", Level.COMMUNITY, STREET) is None


def test_limits_by_category_then_any_then_default() -> None:
    own = Limits(Span(2, SpanUnit.HOURS), Span(1, SpanUnit.DAYS))
    anyone = Limits(Span(4, SpanUnit.HOURS), Span(3, SpanUnit.DAYS))
    table = RoutingTable(
        DISTRICT,
        1,
        limits=(LimitRule(Urgency.NORMAL, anyone), LimitRule(Urgency.NORMAL, own, "noise")),
    )
    assert table.limits_for("noise", Urgency.NORMAL) == own
    assert table.limits_for("roads", Urgency.NORMAL) == anyone
    assert table.limits_for("roads", Urgency.URGENT) == DEFAULT_LIMITS[Urgency.URGENT]
    with pytest.raises(RuleViolation) as e:
        Span.parse("0d", "body.limits.0.respond")
    assert e.value.field == "body.limits.0.respond"
    for bad in ("3w", "1.5h", "1000d", ""):
        with pytest.raises(RuleViolation):
            Span.parse(bad, "x")
    assert str(Span.parse(" 12h ", "x")) == "12h"


def test_escalation_goes_up_past_the_receivers_own_level() -> None:
    # A department's matter: community → street → district, then stays at the district.
    w = whistle(D1, ReceiverKind.DEPARTMENT)
    w, first = w.escalate(TimeLimit.RESPOND, T)
    assert (first.from_level, first.to_level, first.to_party_id) == (
        Level.COMMUNITY, Level.STREET, STREET,
    )  # fmt: skip
    w, second = w.escalate(TimeLimit.RESOLVE, T)
    assert (second.to_level, second.to_party_id) == (Level.DISTRICT, DISTRICT)
    assert w.response_missed_at == T and w.resolution_missed_at == T
    # The street answering a community's whistle and missing: straight to the district.
    _, e = whistle(STREET, ReceiverKind.STREET).escalate(TimeLimit.RESPOND, T)
    assert e.to_level is Level.DISTRICT
    # A street's whistle with the district answering: it stays at the district.
    _, e = whistle(DISTRICT, ReceiverKind.DISTRICT, Level.STREET).escalate(TimeLimit.RESPOND, T)
    assert (e.from_level, e.to_level) == (Level.STREET, Level.DISTRICT)


def test_transitions_and_their_refusals() -> None:
    w = whistle(D1, ReceiverKind.DEPARTMENT)
    with pytest.raises(IllegalTransition, match="the whistle is routed"):
        w.resolve("s", T, "", (uuid4(),))
    with pytest.raises(RuleViolation):
        w.hand_on(D1)
    w = w.hand_on(D2).respond("s", T, "两人", "")
    with pytest.raises(IllegalTransition):
        w.hand_on(D3)  # only before anyone responded
    with pytest.raises(RuleViolation) as e:
        w.resolve("s", T, "", ())
    assert e.value.field == "body.evidence_ids"
    ev = uuid4()
    with pytest.raises(RuleViolation):
        w.resolve("s", T, "", (ev, ev))
    w = w.resolve("s", T, "", (ev,)).reopen()
    assert w.state is State.RESPONDED and w.resolved_at is None and w.resolution_evidence == ()
    w = w.resolve("s", T, "", (ev,)).close("r", T)
    assert w.state is State.CLOSED and w.next_due is None
    assert not w.resolution_missed(datetime(2027, 1, 1, tzinfo=UTC))  # closed: never flagged


def test_a_table_refuses_a_resolve_limit_shorter_than_its_respond_limit() -> None:
    table = RoutingTable(DISTRICT, 1, limits=(LimitRule(Urgency.NORMAL, Limits(
        Span(8, SpanUnit.HOURS), Span(4, SpanUnit.HOURS))),))  # fmt: skip
    with pytest.raises(RuleViolation) as e:
        table.check(HOURS)
    assert e.value.field == "body.limits.0.resolve"
    # A day is a working day's length: 8 hours to respond and 1 day to resolve are equal.
    RoutingTable(DISTRICT, 1, limits=(LimitRule(Urgency.NORMAL, Limits(
        Span(8, SpanUnit.HOURS), Span(1, SpanUnit.DAYS))),)).check(HOURS)  # fmt: skip
