"""A member's reporting (报到) life: registered → requested → reported → (transferred) → left."""

from __future__ import annotations

import re
from enum import StrEnum

from cobuild_kit.errors import Conflict


class MemberStatus(StrEnum):
    REGISTERED = "registered"  # known to the unit, not yet serving a community
    REQUESTED = "requested"  # asked to report to a community, awaiting its admin
    REPORTED = "reported"  # serving the community
    LEFT = "left"


_ALLOWED: dict[str, frozenset[MemberStatus]] = {
    "report": frozenset({MemberStatus.REGISTERED, MemberStatus.REQUESTED}),
    "accept": frozenset({MemberStatus.REQUESTED}),
    "decline": frozenset({MemberStatus.REQUESTED}),
    "transfer": frozenset({MemberStatus.REPORTED}),
    "leave": frozenset({MemberStatus.REGISTERED, MemberStatus.REQUESTED, MemberStatus.REPORTED}),
    "serve": frozenset({MemberStatus.REPORTED}),
}


def require(action: str, status: MemberStatus | str) -> None:
    """409 naming the current state when `action` is not allowed from it."""
    if MemberStatus(status) not in _ALLOWED[action]:
        raise Conflict(f"cannot {action}: the member is {MemberStatus(status).value}")


# Runs of six or more digits (a phone, an id card's number, with its final X): a decline's
# reason leaves the service in `member.report_declined`, where no personal data may travel.
_NUMBERS = re.compile(r"\d{6,}[Xx]?")


def masked_reason(reason: str) -> str:
    """The reason as it may leave the service: long numbers kept to their first three
    digits (13800138000 -> 138********)."""
    return _NUMBERS.sub(lambda m: m[0][:3] + "*" * (len(m[0]) - 3), reason)
