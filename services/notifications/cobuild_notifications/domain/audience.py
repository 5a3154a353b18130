"""Who an event concerns, described before anyone is looked up: the holders of some roles for
a party, members (through their own `member` grants), followers of a thing, or one subject
named by the event. The use case turns an audience into subjects from the grants it learnt."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from cobuild_contracts import Role

# Those who act for an organisation or place: its workers.
ADMINS: frozenset[Role] = frozenset(
    {Role.UNIT_ADMIN, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.DISTRICT_ADMIN}
)


@dataclass(frozen=True)
class PartyRoles:
    """Every holder of one of `roles` for `party_id`, with an active grant."""

    party_id: UUID
    roles: frozenset[Role] = ADMINS


@dataclass(frozen=True)
class Members:
    """The members themselves (a member's party is their member id)."""

    member_ids: tuple[UUID, ...]


@dataclass(frozen=True)
class Followers:
    target_kind: str  # need, agreement, commitment
    target_id: UUID


@dataclass(frozen=True)
class Subjects:
    """People the event names by their subject (who filed an objection)."""

    subjects: tuple[str, ...]


Audience = PartyRoles | Members | Followers | Subjects


@dataclass(frozen=True)
class Decision:
    """What one event notifies: its kind, the words' parameters, a link into the workbench,
    and who (`audiences`). `followers` are told too, with kind FOLLOWED unless already told."""

    kind: str
    params: dict[str, str]
    audiences: tuple[Audience, ...]
    link: str = ""
    followers: tuple[Followers, ...] = field(default_factory=tuple)
    # For people on a daily or weekly digest only (the street's news), and what it is about:
    # (kind, id) of a need or resource whose visibility is checked again before it is sent.
    digest_only: bool = False
    about: tuple[str, UUID] | None = None
