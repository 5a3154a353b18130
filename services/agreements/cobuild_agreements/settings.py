"""Settings of the agreements service (environment prefix COBUILD_AGREEMENTS_), and the runtime
typed by them: `rt.settings.categories` needs no cast anywhere."""

from __future__ import annotations

from typing import Annotated

from cobuild_contracts import HongfanCategory
from cobuild_kit.service import Runtime, get_runtime
from cobuild_kit.settings import DEFAULT_PORTS, ServiceSettings, service_config
from fastapi import Depends
from pydantic import Field


class AgreementsSettings(ServiceSettings):
    model_config = service_config("agreements")
    port: int = DEFAULT_PORTS["agreements"]

    # The category taxonomy is data: communities may extend it (JSON list in the env var).
    categories: list[str] = Field(default_factory=lambda: [c.value for c in HongfanCategory])
    # How many match suggestions are kept and published per need or resource.
    match_top_n: int = Field(default=5, ge=1, le=50)
    max_import_rows: int = Field(default=5000, ge=1)


# What the use cases and the routers hold: the kit's runtime of this service.
AgreementsRuntime = Runtime[AgreementsSettings]
RuntimeDep = Annotated[AgreementsRuntime, Depends(get_runtime)]
