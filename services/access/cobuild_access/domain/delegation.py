"""Who may grant what, for which party: delegated administration down the hierarchy
(ARCHITECTURE.md, "Access").

- a district admin grants street admins (streets of its district), unit admins (units of its
  district) and integrations (`service`, for a party of its district);
- a street admin grants community admins of the communities of its street;
- a community admin grants `community_admin` of its own community to the other workers there.

Nobody grants through these rules a role at or above their own level, nor anything outside
their subtree: the district admin and the operator come only from the bootstrap
(`cobuild access grant`), members from the points service's accepted reports, experts from
the evaluation service's directory. Revoking takes the same right as granting; anyone may
give up a grant of their own; the operator may revoke any grant.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from cobuild_contracts import PartyKind, Role

# The roles a bootstrap may grant: the first district admin and the operators.
BOOTSTRAP_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.OPERATOR})

# grantor's role -> {role it may grant: the kind of party that role is held for}
_DELEGABLE: dict[Role, dict[Role, frozenset[PartyKind]]] = {
    Role.DISTRICT_ADMIN: {
        Role.STREET_ADMIN: frozenset({PartyKind.STREET}),
        Role.UNIT_ADMIN: frozenset({PartyKind.UNIT}),
        Role.SERVICE: frozenset(PartyKind),
    },
    Role.STREET_ADMIN: {Role.COMMUNITY_ADMIN: frozenset({PartyKind.COMMUNITY})},
    Role.COMMUNITY_ADMIN: {Role.COMMUNITY_ADMIN: frozenset({PartyKind.COMMUNITY})},
}
# Roles held for a place or a unit of the directory (members and experts are held for a
# member or expert id; person and operator for no party of the directory).
DIRECTORY_ROLES = frozenset(
    {Role.DISTRICT_ADMIN, Role.STREET_ADMIN, Role.COMMUNITY_ADMIN, Role.UNIT_ADMIN, Role.SERVICE}
)
ADMIN_ROLES = frozenset(_DELEGABLE)


@dataclass(frozen=True)
class Grantor:
    """Who grants: the role and party of their token."""

    subject: str
    role: Role
    party_id: UUID


@dataclass(frozen=True)
class Target:
    """The party a grant is for, as the parties directory knows it (`kind` None: unknown),
    with every party above it (a unit: its district, and its paired communities and theirs)."""

    party_id: UUID
    kind: PartyKind | None
    active: bool
    ancestors: frozenset[UUID]


def grantable(role: Role) -> dict[Role, frozenset[PartyKind]]:
    """What `role` may grant through the rules, and for which kinds of party."""
    return _DELEGABLE.get(role, {})


def refusal_to_grant(grantor: Grantor, role: Role, target: Target) -> str | None:
    """Why `grantor` may not grant `role` for `target`, or None if they may."""
    return _refusal(grantor, role, target, granting=True)


def _refusal(grantor: Grantor, role: Role, target: Target, *, granting: bool) -> str | None:
    kinds = grantable(grantor.role).get(role)
    if kinds is None:
        if role in BOOTSTRAP_ROLES:
            return f"{role.value} is granted only by the bootstrap (cobuild access grant)"
        if role in (Role.MEMBER, Role.EXPERT, Role.PERSON):
            return f"{role.value} is not granted by an admin: it follows from its own service"
        return f"{grantor.role.value} may not grant {role.value}"
    if target.kind is None:
        return f"party {target.party_id} is not in the parties directory"
    if target.kind not in kinds:
        return f"{role.value} is held for a {_kinds(kinds)}, and {target.party_id} is a {target.kind.value}"
    if granting and not target.active:
        return f"party {target.party_id} is no longer active"
    if grantor.role is Role.COMMUNITY_ADMIN:
        if target.party_id != grantor.party_id:
            return f"a community admin grants only for their own community ({grantor.party_id})"
        return None
    if grantor.party_id != target.party_id and grantor.party_id not in target.ancestors:
        return (
            f"{target.kind.value} {target.party_id} is not below "
            f"{grantor.role.value.removesuffix('_admin')} {grantor.party_id}"
        )
    return None


def refusal_to_revoke(grantor: Grantor, holder: str, role: Role, target: Target) -> str | None:
    """Why `grantor` may not revoke a grant of `holder`, or None: the operator revokes any
    grant, anyone gives up their own, and otherwise revoking takes the right to grant it."""
    if grantor.role is Role.OPERATOR or grantor.subject == holder:
        return None
    # A party that was deactivated keeps its grants revocable by those who could grant them.
    why = _refusal(grantor, role, target, granting=False)
    if why is None:
        return None
    return f"may not revoke: {why}"


def _kinds(kinds: frozenset[PartyKind]) -> str:
    return " or ".join(sorted(k.value for k in kinds))


@dataclass(frozen=True)
class MemberPlace:
    """A member as the points service's events told it: their unit and community (none
    before their report is accepted)."""

    member_id: UUID
    unit_id: UUID
    community_id: UUID | None
    active: bool


def refusal_to_invite_member(grantor: Grantor, member: MemberPlace | None) -> str | None:
    """An invitation to link a person's account to a member id (role `member`, party the
    member id) comes from the member's unit admin or the admin of their community."""
    if grantor.role not in (Role.UNIT_ADMIN, Role.COMMUNITY_ADMIN):
        return f"{grantor.role.value} may not invite members (their unit or community admin does)"
    if member is None:
        return "the member is not known here yet (their report must be accepted first)"
    if not member.active:
        return f"member {member.member_id} has left"
    mine = member.unit_id if grantor.role is Role.UNIT_ADMIN else member.community_id
    if mine != grantor.party_id:
        return f"member {member.member_id} is not of {grantor.role.value.removesuffix('_admin')} {grantor.party_id}"
    return None


def refusal_to_invite_expert(grantor: Grantor, known: bool) -> str | None:
    """An invitation to link a person's account to an expert of the evaluation service's
    directory (role `expert`, party the expert id) comes from a district admin, the directory's
    keeper."""
    if grantor.role is not Role.DISTRICT_ADMIN:
        return f"{grantor.role.value} may not invite experts (a district admin does)"
    if not known:
        return "the expert is not in the expert directory (yet)"
    return None
