"""Settings of the commitments service (environment prefix COBUILD_COMMITMENTS_), and the runtime
typed by them: `rt.settings.reminder_days` needs no cast anywhere."""

from __future__ import annotations

from typing import Annotated

from cobuild_kit.service import Runtime, get_runtime
from cobuild_kit.settings import DEFAULT_PORTS, ServiceSettings, service_config
from fastapi import Depends


class CommitmentsSettings(ServiceSettings):
    model_config = service_config("commitments")
    port: int = DEFAULT_PORTS["commitments"]

    # Evidence uploads: a file over this size is refused with a 422 naming the field.
    evidence_max_bytes: int = 10 * 1024 * 1024
    # How often the deadlines worker looks at business time (seconds).
    deadline_scan_interval_s: float = 0.5
    # A reminder goes out once this many days before a deadline (business dates).
    reminder_days: int = 3


# What the use cases, the worker and the routers hold: the kit's runtime of this service.
CommitmentsRuntime = Runtime[CommitmentsSettings]
RuntimeDep = Annotated[CommitmentsRuntime, Depends(get_runtime)]
