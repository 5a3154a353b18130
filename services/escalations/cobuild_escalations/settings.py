"""Settings of the escalations service (environment prefix COBUILD_ESCALATIONS_), and the
runtime typed by them."""

from __future__ import annotations

from datetime import time
from typing import Annotated

from cobuild_kit.service import Runtime, get_runtime
from cobuild_kit.settings import ServiceSettings, service_config
from cobuild_kit.working_time import WorkingHours
from fastapi import Depends

DEFAULT_PORT = 8106


class EscalationsSettings(ServiceSettings):
    model_config = service_config("escalations")
    port: int = DEFAULT_PORT

    # The working day time limits are counted in (Asia/Shanghai), on the kit's working
    # calendar: official holidays off, adjusted working days on.
    working_day_opens: time = time(9, 0)
    working_day_closes: time = time(17, 0)
    # How often the escalation worker looks at business time (seconds).
    escalation_scan_interval_s: float = 0.5
    # Evidence uploads (photos of the matter, of its resolution): a larger file is a 422.
    evidence_max_bytes: int = 10 * 1024 * 1024
    # Residents' one-time rating codes: how long one stays valid, how many one whistle may
    # have in all (the residents who follow a matter are a handful; the bound keeps a raiser
    # from printing its own satisfaction), and redeem attempts per client per minute.
    rating_code_ttl_hours: int = 24 * 30
    rating_codes_per_whistle: int = 30
    rating_redeem_attempts_per_minute: int = 30
    # A rating at or above this mark (1..5) counts as satisfied in the satisfaction rate.
    satisfied_from_rating: int = 4

    @property
    def working_hours(self) -> WorkingHours:
        return WorkingHours(self.working_day_opens, self.working_day_closes)


EscalationsRuntime = Runtime[EscalationsSettings]
RuntimeDep = Annotated[EscalationsRuntime, Depends(get_runtime)]
