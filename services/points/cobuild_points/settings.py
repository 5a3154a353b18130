"""Settings of the points service (environment prefix COBUILD_POINTS_)."""

from __future__ import annotations

from cobuild_kit.settings import ServiceSettings, settings_for

PointsSettings: type[ServiceSettings] = settings_for("points")
