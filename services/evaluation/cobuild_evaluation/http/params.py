"""Path and query parameters several routers share."""

from __future__ import annotations

from typing import Annotated

from cobuild_contracts.base import MAX_YEAR, MIN_YEAR
from fastapi import Path

# The year in a path: 2000..2100 like every year of the contracts (a 4xx, never a 500).
YearPath = Annotated[int, Path(ge=MIN_YEAR, le=MAX_YEAR)]
