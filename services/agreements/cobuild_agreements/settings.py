"""Settings of the agreements service (environment prefix COBUILD_AGREEMENTS_)."""

from __future__ import annotations

from cobuild_kit.settings import ServiceSettings, settings_for

AgreementsSettings: type[ServiceSettings] = settings_for("agreements")
