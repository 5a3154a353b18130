"""Pure domain rules of the agreements service: negotiation, draft ids, matching, directory."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest
from cobuild_agreements.domain.directory import check_parent, may_register, may_register_some
from cobuild_agreements.domain.drafts import DraftItem, DraftRules, carry_ids, diff
from cobuild_agreements.domain.lists import check_claimable, claim_deadline
from cobuild_agreements.domain.matching import (
    NeedView,
    Place,
    ResourceView,
    UnitReach,
    resources_for,
)
from cobuild_agreements.domain.negotiation import AgreementState, Negotiation, SignOutcome
from cobuild_contracts import CommitmentItem, ItemKind, PartyKind, Role
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Conflict, Forbidden, Invalid

C, U, OTHER = uuid4(), uuid4(), uuid4()
TODAY = date(2025, 3, 1)


def test_first_proposal_is_version_one_by_a_party() -> None:
    n = Negotiation.open(C, U, U)
    assert (n.state, n.version, n.proposed_by) == (AgreementState.NEGOTIATING, 1, U)
    with pytest.raises(Forbidden):
        Negotiation.open(C, U, OTHER)


def test_counter_is_the_other_sides_turn_and_answers_the_latest() -> None:
    n = Negotiation.open(C, U, U)
    with pytest.raises(Conflict, match="awaits the other party"):
        n.counter(U, 1)
    with pytest.raises(Conflict, match="not the current draft"):
        n.counter(C, 2)
    n2 = n.counter(C, 1)
    assert (n2.version, n2.proposed_by) == (2, C)
    n3 = n2.counter(U, 2)
    assert n3.version == 3


def test_signed_only_when_both_sign_the_same_version() -> None:
    n = Negotiation.open(C, U, U)
    n, outcome = n.sign(U, 1)
    assert outcome is SignOutcome.RECORDED and n.state is AgreementState.NEGOTIATING
    n = n.counter(C, 1)  # a counter clears the signatures: version 2 is new
    assert n.signers == frozenset()
    with pytest.raises(Conflict, match="version 1 is not the current draft"):
        n.sign(U, 1)  # a signature on an older version is refused
    n, outcome = n.sign(C, 2)
    assert outcome is SignOutcome.RECORDED
    n, outcome = n.sign(C, 2)
    assert outcome is SignOutcome.ALREADY_SIGNED
    n, outcome = n.sign(U, 2)
    assert outcome is SignOutcome.SIGNED
    assert (n.state, n.signed_version) == (AgreementState.SIGNED, 2)
    same, again = n.sign(U, 2)  # a repeated signature after signing changes nothing
    assert again is SignOutcome.ALREADY_SIGNED and same == n
    with pytest.raises(Forbidden):
        n.sign(OTHER, 2)


def test_amend_cycle_and_termination() -> None:
    n = Negotiation.open(C, U, U)
    n, _ = n.sign(U, 1)
    n, _ = n.sign(C, 1)
    with pytest.raises(Conflict, match="signed"):
        n.counter(C, 1)
    a = n.amend(C)
    assert (a.state, a.version, a.signed_version) == (AgreementState.AMENDING, 2, 1)
    with pytest.raises(Conflict, match="awaits the other party"):
        a.amend(C)
    a, _ = a.sign(C, 2)
    a, outcome = a.sign(U, 2)
    assert outcome is SignOutcome.AMENDED
    assert (a.state, a.signed_version) == (AgreementState.SIGNED, 2)
    t = a.terminate(U)
    assert t.state is AgreementState.TERMINATED
    with pytest.raises(Conflict, match="terminated"):
        t.amend(C)
    with pytest.raises(Conflict, match="negotiating"):
        Negotiation.open(C, U, U).terminate(C)


def _draft(title: str = "楼道照明", **kw: object) -> DraftItem:
    fields: dict[str, object] = {
        "title": title,
        "kind": ItemKind.TASK,
        "category": "happy_compound",
        "obligor_party_id": U,
        "beneficiary_party_id": C,
        "responsible_title": "党委书记",
        "deadline": date(2025, 6, 30),
    }
    fields.update(kw)
    return DraftItem(**fields)  # type: ignore[arg-type]


def test_commitment_ids_are_kept_for_unchanged_items() -> None:
    v1 = carry_ids([_draft("a"), _draft("b")], [])
    v2 = carry_ids([_draft("a"), _draft("b", funds_fen=100), _draft("c")], v1)
    assert v2[0].commitment_id == v1[0].commitment_id  # unchanged: same id
    assert v2[1].commitment_id not in {i.commitment_id for i in v1}  # changed: new id
    named = carry_ids([_draft("b2", commitment_id=v1[1].commitment_id)], v1)
    assert named[0].commitment_id == v1[1].commitment_id  # named: kept although edited
    with pytest.raises(Invalid) as err:
        carry_ids([_draft(commitment_id=uuid4())], v1)
    assert err.value.field == "body.items.0.commitment_id"


def test_draft_rules_name_the_field() -> None:
    rules = DraftRules(frozenset({C, U}), frozenset({"happy_compound"}), TODAY)
    rules.check([_draft()])
    cases = {
        "body.items.1.obligor_party_id": _draft(obligor_party_id=OTHER),
        "body.items.1.beneficiary_party_id": _draft(beneficiary_party_id=U),
        "body.items.1.category": _draft(category="unknown_cat"),
        "body.items.1.deadline": _draft(deadline=date(2025, 2, 28)),
    }
    for field, bad in cases.items():
        with pytest.raises(Invalid) as err:
            rules.check([_draft(), bad])
        assert err.value.field == field


def test_diff_gives_added_and_cancelled() -> None:
    before = carry_ids([_draft("a"), _draft("b")], [])
    after = [before[0], *carry_ids([_draft("c")], [])]
    change = diff(before, after)
    assert [i.title for i in change.added] == ["c"]
    assert change.cancelled == [before[1].commitment_id]
    assert all(isinstance(i, CommitmentItem) for i in change.added)


def _resource(unit: UUID, **kw: object) -> ResourceView:
    fields: dict[str, object] = {
        "resource_id": uuid4(),
        "unit_id": unit,
        "category": "happy_compound",
        "kind": "task",
        "capacity": 50,
        "funds_fen": 0,
        "available_from": date(2025, 3, 1),
        "available_until": date(2025, 12, 31),
    }
    fields.update(kw)
    return ResourceView(**fields)  # type: ignore[arg-type]


def test_matcher_ranks_paired_over_street_over_others_with_reasons() -> None:
    street, district = uuid4(), uuid4()
    need = NeedView(uuid4(), C, "happy_compound", "task", 48, 0, date(2025, 6, 30))
    place = Place(C, street, district)
    paired, neighbour, far, small = uuid4(), uuid4(), uuid4(), uuid4()
    reach = {
        paired: UnitReach(paired, district, frozenset({C}), frozenset({street})),
        neighbour: UnitReach(neighbour, district, frozenset({OTHER}), frozenset({street})),
        far: UnitReach(far, uuid4(), frozenset(), frozenset()),
        small: UnitReach(small, district, frozenset({C}), frozenset({street})),
    }
    candidates = [
        (_resource(far), reach[far]),
        (_resource(neighbour), reach[neighbour]),
        (_resource(paired), reach[paired]),
        (_resource(small, capacity=10), reach[small]),
        (_resource(paired, kind="venue"), reach[paired]),  # other kind: never suggested
        (_resource(paired, community_ids=frozenset({OTHER})), reach[paired]),  # serves others
    ]
    ranked = resources_for(need, place, candidates, TODAY, top=5)
    assert [s.unit_id for s in ranked] == [paired, neighbour, small, far]
    assert [s.score for s in ranked] == [100, 90, 80, 75]
    assert ranked[0].score == 100
    assert "the unit is paired with the community" in ranked[0].reasons
    assert "the unit is paired in the same street" in ranked[1].reasons
    assert any("covers part" in r for r in ranked[2].reasons)
    late = resources_for(
        need, place, [(_resource(far, available_from=date(2025, 7, 1)), reach[far])], TODAY, 5
    )
    assert not any("reaches wanted-by" in r for r in late[0].reasons)
    assert [s.unit_id for s in resources_for(need, place, candidates, TODAY, top=2)] == [
        paired,
        neighbour,
    ]


def test_directory_rules() -> None:
    district, street = uuid4(), uuid4()
    check_parent(PartyKind.COMMUNITY, PartyKind.STREET)
    with pytest.raises(Invalid):
        check_parent(PartyKind.COMMUNITY, PartyKind.DISTRICT)
    may_register(Actor("d", Role.DISTRICT_ADMIN, district), PartyKind.DISTRICT, district, [])
    with pytest.raises(Forbidden):
        may_register(Actor("d", Role.DISTRICT_ADMIN, district), PartyKind.DISTRICT, uuid4(), [])
    street_admin = Actor("s", Role.STREET_ADMIN, street)
    may_register(street_admin, PartyKind.COMMUNITY, None, [street, district])
    with pytest.raises(Forbidden):
        may_register(street_admin, PartyKind.STREET, None, [district])
    with pytest.raises(Forbidden):
        may_register(street_admin, PartyKind.UNIT, None, [district])


def test_awaiting_names_the_missing_signatures_of_a_draft_only() -> None:
    n = Negotiation.open(C, U, U)
    assert n.awaiting == {C, U}
    n, _ = n.sign(U, 1)
    assert n.awaiting == {C}
    n, _ = n.sign(C, 1)
    assert n.awaiting == frozenset()


def test_a_claim_is_signed_at_once_by_the_unit() -> None:
    n = Negotiation.claimed(C, U)
    assert (n.state, n.version, n.proposed_by, n.signed_version) == (AgreementState.SIGNED, 1, U, 1)
    assert n.signers == {U} and n.awaiting == frozenset()


def test_claim_rules() -> None:
    need = uuid4()
    check_claimable(need, "published", "public", C, ())
    check_claimable(need, "published", "paired_units", C, (C,))
    with pytest.raises(Conflict, match="claimed; only a published need"):
        check_claimable(need, "claimed", "public", C, (C,))
    with pytest.raises(Forbidden, match="private"):
        check_claimable(need, "published", "private", C, (C,))
    with pytest.raises(Forbidden, match="paired units only"):
        check_claimable(need, "published", "paired_units", C, ())
    assert claim_deadline(None, date(2025, 4, 1), TODAY) == date(2025, 4, 1)
    assert claim_deadline(date(2025, 3, 2), date(2025, 4, 1), TODAY) == date(2025, 3, 2)
    with pytest.raises(Invalid) as refused:
        claim_deadline(None, date(2025, 2, 1), TODAY)
    assert refused.value.field == "body.deadline"


def test_only_registrars_import_parties() -> None:
    may_register_some(Actor("s", Role.STREET_ADMIN, C))
    with pytest.raises(Forbidden, match="may not register parties"):
        may_register_some(Actor("u", Role.UNIT_ADMIN, U))
