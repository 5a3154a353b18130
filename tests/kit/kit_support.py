"""Helpers shared by the kit's tests."""

from __future__ import annotations

from uuid import UUID, uuid4

from cobuild_contracts import PartyKind, PartyRegistered


def party(name: str = "和平社区", party_id: UUID | None = None) -> PartyRegistered:
    """A community registration: the smallest real event the kit's tests send."""
    return PartyRegistered(
        party_id=party_id or uuid4(),
        kind=PartyKind.COMMUNITY,
        name=name,
        parent_id=None,
        unit_type=None,
        code=None,
        version=1,
    )
