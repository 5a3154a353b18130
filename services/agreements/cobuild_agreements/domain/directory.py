"""The places hierarchy and who may change it.

district → street → community → grid; a unit belongs to its district and is paired (结对)
with communities. A district admin whose token names the district bootstraps it; district
admins register everything below them; a street admin registers communities and grids in its
street.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cobuild_contracts import PartyKind, Role, UnitType
from cobuild_kit.actor import Actor
from cobuild_kit.errors import Forbidden, Invalid

PARENT_KIND: dict[PartyKind, PartyKind | None] = {
    PartyKind.DISTRICT: None,
    PartyKind.STREET: PartyKind.DISTRICT,
    PartyKind.COMMUNITY: PartyKind.STREET,
    PartyKind.GRID: PartyKind.COMMUNITY,
    PartyKind.UNIT: PartyKind.DISTRICT,
}
STREET_MAY_REGISTER = frozenset({PartyKind.COMMUNITY, PartyKind.GRID})
REGISTRARS = frozenset({Role.DISTRICT_ADMIN, Role.STREET_ADMIN})  # the roles may_register lets in


@dataclass(frozen=True)
class Party:
    """One place or unit of the directory, at one version."""

    party_id: UUID
    kind: PartyKind
    name: str
    parent_id: UUID | None
    unit_type: UnitType | None
    code: str | None
    paired_community_ids: tuple[UUID, ...]
    active: bool
    version: int

    def snapshot(self) -> dict[str, Any]:
        """Every field, as party.registered and party.updated carry it."""
        return {
            "party_id": self.party_id,
            "kind": self.kind,
            "name": self.name,
            "parent_id": self.parent_id,
            "unit_type": self.unit_type,
            "code": self.code,
            "paired_community_ids": list(self.paired_community_ids),
            "active": self.active,
            "version": self.version,
        }


def check_parent(
    kind: PartyKind, parent_kind: PartyKind | None, field: str = "body.parent_id"
) -> None:
    """A party hangs under the right kind of parent (a district under none)."""
    wanted = PARENT_KIND[kind]
    if wanted is None and parent_kind is not None:
        raise Invalid("a district has no parent", field=field)
    if wanted is not None and parent_kind != wanted:
        have = parent_kind.value if parent_kind else "none"
        raise Invalid(f"a {kind.value} belongs under a {wanted.value}, not {have}", field=field)


def may_register(
    actor: Actor, kind: PartyKind, party_id: UUID | None, above: Collection[UUID]
) -> None:
    """`above`: the new party's parent and every ancestor of it. Raises Forbidden."""
    if kind is PartyKind.DISTRICT:
        if actor.role is Role.DISTRICT_ADMIN and actor.party_id == party_id:
            return
        raise Forbidden("only that district's own admin may register a district")
    if actor.role is Role.DISTRICT_ADMIN and actor.party_id in above:
        return
    if actor.role is Role.STREET_ADMIN and kind in STREET_MAY_REGISTER and actor.party_id in above:
        return
    raise Forbidden(f"{actor.role.value} of {actor.party_id} may not register a {kind.value} there")


def may_register_some(actor: Actor) -> None:
    """Whether the actor's role registers any party at all: an import asks before it parses."""
    if actor.role not in REGISTRARS:
        raise Forbidden(f"{actor.role.value} may not register parties")


def may_change(actor: Actor, kind: PartyKind, party_id: UUID, above: Collection[UUID]) -> None:
    """Updating a party (and pairing a unit) takes the same authority as registering it."""
    may_register(actor, kind, party_id, above)


def may_pair(actor: Actor, community_id: UUID, above: Collection[UUID], field: str) -> None:
    """Pairing a unit with a community binds the community: the unit then reads and claims
    its paired-only needs, and a claim signs an agreement at once. So it takes authority over
    the community as well as the unit (the district admin of both; a street admin above the
    community has none over a unit). `above`: the community's ancestors. Raises Forbidden."""
    try:
        may_register(actor, PartyKind.COMMUNITY, community_id, above)
    except Forbidden:
        raise Forbidden(
            f"{actor.role.value} of {actor.party_id} has no authority over community "
            f"{community_id}: pairing a unit with a community takes authority over both",
            field=field,
        ) from None


__all__ = [
    "PARENT_KIND",
    "REGISTRARS",
    "Party",
    "check_parent",
    "may_change",
    "may_pair",
    "may_register",
    "may_register_some",
]
