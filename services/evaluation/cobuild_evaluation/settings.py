"""Settings of the evaluation service (environment prefix COBUILD_EVALUATION_)."""

from __future__ import annotations

from cobuild_kit.settings import ServiceSettings, settings_for

EvaluationSettings: type[ServiceSettings] = settings_for("evaluation")
