"""Settings of the points service (environment prefix COBUILD_POINTS_)."""

from __future__ import annotations

from cobuild_kit.settings import DEFAULT_PORTS, ServiceSettings, service_config


class PointsSettings(ServiceSettings):
    model_config = service_config("points")
    port: int = DEFAULT_PORTS["points"]

    # A micro-wish nobody claims within this many days is flagged as stale.
    wish_stale_days: int = 14
    # The rule applied when the community confirms a fulfilled micro-wish.
    wish_rule_code: str = "wish_fulfilled"


def options(settings: ServiceSettings) -> PointsSettings:
    assert isinstance(settings, PointsSettings)
    return settings
