"""Who may do what to a whistle, and the domain's refusals as the errors a caller sees.

- The **raiser** is the community (its `community_admin`, the community worker) or the street
  (its `street_admin`) that whistled: it confirms or reopens, and issues rating codes.
- The **receiver** acts through its admin: a department (a unit of type government office)
  through `unit_admin`, a street through `street_admin`, a district through `district_admin`.
  It responds, resolves and hands on.
- The **supervisors** are the street and district admins of the place (the levels a missed
  limit escalates to): they read, and may hand a matter on to another department.
A read refused answers 404, as for an id that does not exist; a command refused answers 403.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cobuild_contracts import Role
from cobuild_contracts.events.escalations import Level, ReceiverKind
from cobuild_kit.auth import Actor
from cobuild_kit.errors import Conflict, Forbidden, Invalid, NotFound
from cobuild_kit.logging import get_logger

from cobuild_escalations.domain.rules import IllegalTransition, RuleViolation
from cobuild_escalations.domain.whistle import Whistle

log = get_logger(__name__)

RECEIVER_ROLE = {
    ReceiverKind.DEPARTMENT: Role.UNIT_ADMIN,
    ReceiverKind.STREET: Role.STREET_ADMIN,
    ReceiverKind.DISTRICT: Role.DISTRICT_ADMIN,
}
RAISER_ROLE = {Level.COMMUNITY: Role.COMMUNITY_ADMIN, Level.STREET: Role.STREET_ADMIN}


def is_raiser(actor: Actor, w: Whistle) -> bool:
    return actor.party_id == w.raiser_party_id and actor.role == RAISER_ROLE.get(w.raiser_level)


def is_receiver(actor: Actor, w: Whistle) -> bool:
    return actor.party_id == w.receiver_party_id and actor.role == RECEIVER_ROLE[w.receiver_kind]


def is_supervisor(actor: Actor, w: Whistle) -> bool:
    """The street admin of the place's street, the district admin of its district."""
    return (actor.role == Role.STREET_ADMIN and actor.party_id == w.place.street_id) or (
        actor.role == Role.DISTRICT_ADMIN and actor.party_id == w.place.district_id
    )


def may_read(actor: Actor, w: Whistle) -> bool:
    return is_raiser(actor, w) or is_receiver(actor, w) or is_supervisor(actor, w)


def as_reader(actor: Actor, w: Whistle, action: str = "read this whistle") -> None:
    """Anyone but the raiser, the receiver and the supervisors gets the 404 a whistle that
    does not exist gets: a read must not tell a stranger the id is real."""
    if not may_read(actor, w):
        log.warning(
            "request.refused_as_not_found",
            reason=f"{actor.role.value} of {actor.party_id} may not {action}",
            field="path.whistle_id",
        )
        raise NotFound(f"no whistle {w.whistle_id}", field="path.whistle_id")


def _refuse(actor: Actor, w: Whistle, action: str, who: str) -> None:
    as_reader(actor, w, action)  # a stranger learns nothing
    raise Forbidden(f"{actor.role.value} of {actor.party_id} may not {action}: only {who} may")


def as_receiver(actor: Actor, w: Whistle, action: str) -> None:
    if not is_receiver(actor, w):
        role = RECEIVER_ROLE[w.receiver_kind].value
        _refuse(actor, w, action, f"the receiver's {role}")


def as_raiser(actor: Actor, w: Whistle, action: str) -> None:
    if not is_raiser(actor, w):
        _refuse(actor, w, action, "the raiser")


def as_receiver_or_supervisor(actor: Actor, w: Whistle, action: str) -> None:
    if not (is_receiver(actor, w) or is_supervisor(actor, w)):
        _refuse(actor, w, action, "the receiver or the street and district above the place")


@contextmanager
def domain_rules() -> Iterator[None]:
    """The domain's refusals as the kit's: an illegal transition Conflict (409), a broken
    rule Invalid (422)."""
    try:
        yield
    except IllegalTransition as exc:
        raise Conflict(str(exc), field="state") from exc
    except RuleViolation as exc:
        raise Invalid(str(exc), field=exc.field) from exc
