"""Delegation: each role can grant exactly what the rules allow, for exactly the parties they
allow (the whole matrix: every grantor × every role × every kind of party, in and out of the
grantor's subtree), and revoking takes the same right."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from cobuild_access.domain.delegation import (
    Grantor,
    MemberPlace,
    Target,
    refusal_to_grant,
    refusal_to_invite_expert,
    refusal_to_invite_member,
    refusal_to_revoke,
)
from cobuild_contracts import PartyKind, Role

# Two districts. D: streets S1 (communities C1, C3; grid G1 of C1) and S2 (community C2);
# unit U1 belongs to D and is paired with C2. D2: street S3, community C4, unit U2.
NAMES = ["D", "S1", "S2", "C1", "C2", "C3", "G1", "U1", "D2", "S3", "C4", "U2"]
ID = {name: uuid4() for name in NAMES}
PARENT = {"S1": "D", "S2": "D", "C1": "S1", "C3": "S1", "C2": "S2", "G1": "C1", "U1": "D",
          "S3": "D2", "C4": "S3", "U2": "D2"}  # fmt: skip
PAIRED = {"U1": ["C2"]}
KIND = {"D": PartyKind.DISTRICT, "D2": PartyKind.DISTRICT, "S1": PartyKind.STREET,
        "S2": PartyKind.STREET, "S3": PartyKind.STREET, "C1": PartyKind.COMMUNITY,
        "C2": PartyKind.COMMUNITY, "C3": PartyKind.COMMUNITY, "C4": PartyKind.COMMUNITY,
        "G1": PartyKind.GRID, "U1": PartyKind.UNIT, "U2": PartyKind.UNIT}  # fmt: skip


def ancestors(name: str) -> frozenset[UUID]:
    """As the kit's parties query finds them: parents, and paired communities and theirs."""
    found: set[str] = set()
    todo = [PARENT[name]] if name in PARENT else []
    todo += PAIRED.get(name, [])
    while todo:
        up = todo.pop()
        if up not in found:
            found.add(up)
            todo += [PARENT[up]] if up in PARENT else []
    return frozenset(ID[n] for n in found)


def target(name: str, *, active: bool = True) -> Target:
    return Target(ID[name], KIND[name], active, ancestors(name))


# Who grants: each role, for the party it is held for.
GRANTORS = {
    "district_admin@D": Grantor("d", Role.DISTRICT_ADMIN, ID["D"]),
    "street_admin@S1": Grantor("s", Role.STREET_ADMIN, ID["S1"]),
    "community_admin@C1": Grantor("c", Role.COMMUNITY_ADMIN, ID["C1"]),
    "unit_admin@U1": Grantor("u", Role.UNIT_ADMIN, ID["U1"]),
    "member": Grantor("m", Role.MEMBER, uuid4()),
    "expert": Grantor("e", Role.EXPERT, uuid4()),
    "person": Grantor("p", Role.PERSON, uuid4()),
    "service@D": Grantor("i", Role.SERVICE, ID["D"]),
    "operator": Grantor("o", Role.OPERATOR, UUID(int=0)),
}

# Exactly what the rules allow; every other (grantor, role, party) is refused.
ALLOWED = {
    ("district_admin@D", Role.STREET_ADMIN, "S1"),
    ("district_admin@D", Role.STREET_ADMIN, "S2"),
    ("district_admin@D", Role.UNIT_ADMIN, "U1"),
    *(("district_admin@D", Role.SERVICE, p) for p in ["D", "S1", "S2", "C1", "C2", "C3", "G1", "U1"]),
    ("street_admin@S1", Role.COMMUNITY_ADMIN, "C1"),
    ("street_admin@S1", Role.COMMUNITY_ADMIN, "C3"),
    ("community_admin@C1", Role.COMMUNITY_ADMIN, "C1"),
}  # fmt: skip


def test_the_whole_matrix() -> None:
    granted = set()
    for who, grantor in GRANTORS.items():
        for role in Role:
            for name in NAMES:
                why = refusal_to_grant(grantor, role, target(name))
                if why is None:
                    granted.add((who, role, name))
                else:
                    assert why.strip(), (who, role, name)
    assert granted == ALLOWED


@pytest.mark.parametrize("role", [Role.DISTRICT_ADMIN, Role.OPERATOR])
def test_district_admins_and_operators_come_only_from_the_bootstrap(role: Role) -> None:
    for grantor in GRANTORS.values():
        why = refusal_to_grant(grantor, role, target("D"))
        assert why is not None and "bootstrap" in why


def test_nobody_grants_at_or_above_their_own_level() -> None:
    assert refusal_to_grant(GRANTORS["street_admin@S1"], Role.STREET_ADMIN, target("S1"))
    assert refusal_to_grant(GRANTORS["street_admin@S1"], Role.STREET_ADMIN, target("S2"))
    assert refusal_to_grant(GRANTORS["community_admin@C1"], Role.STREET_ADMIN, target("S1"))
    assert refusal_to_grant(GRANTORS["unit_admin@U1"], Role.UNIT_ADMIN, target("U1"))


def test_reasons_name_the_rule() -> None:
    d, s, c = (
        GRANTORS["district_admin@D"],
        GRANTORS["street_admin@S1"],
        GRANTORS["community_admin@C1"],
    )
    assert "not below" in (refusal_to_grant(s, Role.COMMUNITY_ADMIN, target("C2")) or "")
    assert "own community" in (refusal_to_grant(c, Role.COMMUNITY_ADMIN, target("C3")) or "")
    assert "is a community" in (refusal_to_grant(d, Role.STREET_ADMIN, target("C1")) or "")
    assert "may not grant" in (refusal_to_grant(d, Role.COMMUNITY_ADMIN, target("C1")) or "")
    assert "its own service" in (refusal_to_grant(d, Role.MEMBER, target("C1")) or "")


def test_an_unknown_or_inactive_party_is_refused() -> None:
    d = GRANTORS["district_admin@D"]
    unknown = Target(uuid4(), None, False, frozenset())
    assert "not in the parties directory" in (refusal_to_grant(d, Role.STREET_ADMIN, unknown) or "")
    assert "no longer active" in (
        refusal_to_grant(d, Role.STREET_ADMIN, target("S1", active=False)) or ""
    )


def test_revoking_takes_the_right_to_grant() -> None:
    for who, grantor in GRANTORS.items():
        for role in Role:
            for name in NAMES:
                allowed = refusal_to_revoke(grantor, "someone-else", role, target(name)) is None
                expected = (who, role, name) in ALLOWED or who == "operator"
                assert allowed == expected, (who, role, name)


def test_a_deactivated_party_keeps_its_grants_revocable() -> None:
    s = GRANTORS["street_admin@S1"]
    assert refusal_to_grant(s, Role.COMMUNITY_ADMIN, target("C1", active=False))
    assert refusal_to_revoke(s, "x", Role.COMMUNITY_ADMIN, target("C1", active=False)) is None


def test_anyone_gives_up_their_own_grant() -> None:
    u = GRANTORS["unit_admin@U1"]
    assert refusal_to_revoke(u, "u", Role.UNIT_ADMIN, target("U1")) is None
    assert refusal_to_revoke(u, "v", Role.UNIT_ADMIN, target("U1")) is not None


def test_member_invitations_come_from_the_members_unit_or_community() -> None:
    place = MemberPlace(uuid4(), ID["U1"], ID["C1"], True)
    assert refusal_to_invite_member(GRANTORS["unit_admin@U1"], place) is None
    assert refusal_to_invite_member(GRANTORS["community_admin@C1"], place) is None
    other = Grantor("x", Role.COMMUNITY_ADMIN, ID["C2"])
    assert "is not of community" in (refusal_to_invite_member(other, place) or "")
    assert "may not invite members" in (
        refusal_to_invite_member(GRANTORS["district_admin@D"], place) or ""
    )
    assert "not known" in (refusal_to_invite_member(GRANTORS["unit_admin@U1"], None) or "")
    left = MemberPlace(place.member_id, ID["U1"], ID["C1"], False)
    assert "has left" in (refusal_to_invite_member(GRANTORS["unit_admin@U1"], left) or "")


def test_expert_invitations_come_from_a_district_admin_for_a_known_expert() -> None:
    assert refusal_to_invite_expert(GRANTORS["district_admin@D"], True) is None
    assert "not in the expert directory" in (
        refusal_to_invite_expert(GRANTORS["district_admin@D"], False) or ""
    )
    for who in ("street_admin@S1", "community_admin@C1", "unit_admin@U1", "operator"):
        assert "a district admin does" in (refusal_to_invite_expert(GRANTORS[who], True) or "")
