"""Settings of the points service (environment prefix COBUILD_POINTS_)."""

from __future__ import annotations

from typing import cast

from cobuild_kit.settings import ServiceSettings, settings_for


class PointsOptions(ServiceSettings):
    # A micro-wish nobody claims within this many days is flagged as stale.
    wish_stale_days: int = 14
    # The rule applied when the community confirms a fulfilled micro-wish.
    wish_rule_code: str = "wish_fulfilled"


PointsSettings = cast(type[PointsOptions], settings_for("points", base=PointsOptions))


def options(settings: ServiceSettings) -> PointsOptions:
    assert isinstance(settings, PointsOptions)
    return settings
