"""Settings of the points service (environment prefix COBUILD_POINTS_), and the one runtime
dependency typed by them: `RuntimeDep` for routers, `PointsRuntime` for use cases."""

from __future__ import annotations

from typing import Annotated

from cobuild_kit.service import Runtime, get_runtime
from cobuild_kit.settings import DEFAULT_PORTS, ServiceSettings, service_config
from fastapi import Depends


class PointsSettings(ServiceSettings):
    model_config = service_config("points")
    port: int = DEFAULT_PORTS["points"]

    # A micro-wish nobody claims within this many days is flagged as stale.
    wish_stale_days: int = 14
    # The rule applied when the community confirms a fulfilled micro-wish.
    wish_rule_code: str = "wish_fulfilled"


PointsRuntime = Runtime[PointsSettings]
RuntimeDep = Annotated[PointsRuntime, Depends(get_runtime)]
