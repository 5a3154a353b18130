"""Settings of the commitments service (environment prefix COBUILD_COMMITMENTS_)."""

from __future__ import annotations

from cobuild_kit.settings import ServiceSettings, settings_for

CommitmentsSettings: type[ServiceSettings] = settings_for("commitments")
