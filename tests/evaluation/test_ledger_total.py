"""`ledger_total`, the ledger's bigint sum (evaluation migration 0005): a bigint in, a bigint
out, no numeric in between, and an overflow is an error rather than a wrapped total."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from cobuild_kit.db import connect
from cobuild_kit.testing import prepare_database

BIG = 2**62


async def test_it_sums_bigints_into_a_bigint_and_refuses_to_overflow(pg_server: Any) -> None:
    dsn = await pg_server.create_database("ledgertotal")
    await prepare_database(dsn, "evaluation")
    conn = await connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT ledger_total(x) AS total, pg_typeof(ledger_total(x))::text AS type"
            " FROM unnest($1::bigint[]) AS t(x)",
            [BIG, BIG - 1, -BIG, 5],
        )
        assert (row["total"], row["type"]) == (BIG + 4, "bigint")
        with pytest.raises(asyncpg.NumericValueOutOfRangeError):
            await conn.fetchval(
                "SELECT ledger_total(x) FROM unnest($1::bigint[]) AS t(x)", [BIG, BIG]
            )
    finally:
        await conn.close()
