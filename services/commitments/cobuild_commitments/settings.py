"""Settings of the commitments service (environment prefix COBUILD_COMMITMENTS_)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from cobuild_kit.settings import DEFAULT_PORTS, ServiceSettings, service_config

if TYPE_CHECKING:
    from cobuild_kit.service import Runtime


class CommitmentsSettings(ServiceSettings):
    model_config = service_config("commitments")
    port: int = DEFAULT_PORTS["commitments"]

    # Evidence uploads: a file over this size is refused with a 422 naming the field.
    evidence_max_bytes: int = 10 * 1024 * 1024
    # How often the deadlines worker looks at business time (seconds).
    deadline_scan_interval_s: float = 0.5
    # A reminder goes out once this many days before a deadline (business dates).
    reminder_days: int = 3


def settings_of(rt: Runtime) -> CommitmentsSettings:
    """The runtime's settings as this service's own (the kit holds them as ServiceSettings)."""
    return cast(CommitmentsSettings, rt.settings)
