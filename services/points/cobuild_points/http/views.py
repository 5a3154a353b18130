"""How rows leave over HTTP: JSON-ready values, decimals as strings (points never travel as
floats), and the member profile's fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import asyncpg

PROFILE = (
    "member_id",
    "name",
    "phone",
    "unit_id",
    "residence_community_id",
    "grid_id",
    "status",
    "requested_community_id",
    "community_id",
    "show_full_name",
    "registered_at",
    "reported_at",
    "left_at",
)


def plain(row: asyncpg.Record | dict[str, Any], *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """A row as JSON-ready values; decimals as strings (points never travel as floats)."""
    return {
        k: (format(v, "f") if isinstance(v, Decimal) else v)
        for k, v in dict(row).items()
        if k not in drop
    }


def profile(row: Any) -> dict[str, Any]:
    return plain({k: row[k] for k in PROFILE})
