"""Settings of the points service (environment prefix COBUILD_POINTS_), and the one runtime
dependency typed by them: `RuntimeDep` for routers, `PointsRuntime` for use cases."""

from __future__ import annotations

from typing import Annotated

from cobuild_contracts import Grade
from cobuild_kit.service import Runtime, get_runtime
from cobuild_kit.settings import DEFAULT_PORTS, ServiceSettings, service_config
from fastapi import Depends
from pydantic import Field


class PointsSettings(ServiceSettings):
    model_config = service_config("points")
    port: int = DEFAULT_PORTS["points"]

    # A micro-wish nobody claims within this many days is flagged as stale.
    wish_stale_days: int = 14
    # The rule applied when the community confirms a fulfilled micro-wish.
    wish_rule_code: str = "wish_fulfilled"

    # The grades the public honour roll shows; asking it for another grade is a 422 naming
    # `query.grade`. Only the policy's honour (excellent) by default: a public page of the
    # members graded `fail` shames them, which no policy asks for.
    honour_roll_grades: list[Grade] = Field(default_factory=lambda: [Grade.EXCELLENT])

    # Check-in codes are six digits: these bound the guesses (ARCHITECTURE.md has no rule
    # yet; see the API description, "Check-in codes"). Every attempt counts, right or wrong,
    # so a right code after the limit is refused too until the minute has passed.
    check_in_attempts_per_minute: int = 10  # per member and activity
    check_in_activity_attempts_per_minute: int = 300  # per activity, all members together

    # A registering admin whose registrations name phones registered outside their reach
    # gets at most this many such answers a minute (then 429): the one bit "cannot be
    # registered here" cannot be asked for a whole phone book (API description, "Phones").
    phone_refusals_per_minute: int = 10


PointsRuntime = Runtime[PointsSettings]
RuntimeDep = Annotated[PointsRuntime, Depends(get_runtime)]
