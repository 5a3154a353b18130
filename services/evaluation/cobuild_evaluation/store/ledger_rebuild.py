"""The fulfilment ledger's tables reloaded in bulk from the journal (the rebuild's SQL).

Both derived tables are loaded the way a bulk load should be: emptied, their indexes dropped,
the commitment rows copied in, the scopes above derived by grouped statements, and each index
built once, by sort.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from asyncpg.cursor import Cursor

from cobuild_evaluation.domain.ledger import ALL_SCOPE, MEASURES
from cobuild_evaluation.store.ledger import MEASURE_COLS, STATE_COLS

# What a fold hands to COPY: commitment state rows, and commitment-scope daily rows.
Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]

# Every scope above a commitment is the sum of its commitments' deltas, so after the
# commitment rows are in, grouped statements derive the rest in the database: one per kind,
# because four small hash tables beat one that spills (12 s against 20 s at 10^6).
_ROLL_UP = f"""
INSERT INTO ledger_daily (scope_kind, scope_id, day, {MEASURE_COLS})
SELECT $1, {{scope}}, d.day, {", ".join(f"ledger_total(d.{m})" for m in MEASURES)}
FROM ledger_daily d JOIN ledger_commitments c ON c.commitment_id = d.scope_id
WHERE d.scope_kind = 'commitment'
GROUP BY {{scope}}, d.day
"""
_SCOPE_COLUMN = {
    "agreement": "c.agreement_id",
    "unit": "c.unit_id",
    "community": "c.community_id",
    "all": f"'{ALL_SCOPE}'::uuid",
}

# The definitions come from the catalogue, so an index a later migration adds is restored too.
_INDEXES_OF = """
SELECT i.indrelid::regclass::text AS tbl, quote_ident(ix.relname) AS idx,
       pg_get_indexdef(i.indexrelid) AS idxdef,
       quote_ident(c.conname) AS con, pg_get_constraintdef(c.oid) AS condef
FROM pg_index i
JOIN pg_class ix ON ix.oid = i.indexrelid
LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
WHERE i.indrelid = ANY($1::regclass[])
ORDER BY c.conname NULLS LAST, ix.relname
"""
_REBUILT = ["ledger_commitments", "ledger_daily", "ledger_agreements"]
# Each agreement's parties, from its commitments (they all name the same two).
_AGREEMENTS = """
INSERT INTO ledger_agreements (agreement_id, community_id, unit_id)
SELECT DISTINCT ON (agreement_id) agreement_id, community_id, unit_id
FROM ledger_commitments ORDER BY agreement_id
"""
_STATE_COLUMNS = [c.strip() for c in STATE_COLS.split(",")]
_DAILY_COLUMNS = ["scope_kind", "scope_id", "day", *MEASURES]


async def empty(conn: asyncpg.Connection) -> list[str]:
    """Lock the journal, empty the derived tables and drop their indexes, in the caller's
    transaction; returns the statements that restore the indexes. Readers wait for its
    commit (TRUNCATE's lock), then see the rebuilt ledger whole."""
    await conn.execute("LOCK TABLE ledger_journal IN SHARE ROW EXCLUSIVE MODE")
    await conn.execute(f"TRUNCATE {', '.join(_REBUILT)}")
    # Room to hash the roll-up and sort each index in memory, for this transaction only.
    await conn.execute("SET LOCAL work_mem = '64MB'")
    await conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
    return await _drop_indexes(conn, _REBUILT)


async def journal_cursor(conn: asyncpg.Connection) -> Cursor:
    """The journal in commitment, then journal order: (commitment id, fact kind, data as
    JSON text) rows."""
    return await conn.cursor(
        "SELECT commitment_id::text, fact, data::text FROM ledger_journal "
        "ORDER BY commitment_id, id"
    )


async def copy(conn: asyncpg.Connection, rows: Rows) -> int:
    """COPY a fold's rows in; returns the number of commitments."""
    states, daily = rows
    if states:
        await conn.copy_records_to_table(
            "ledger_commitments", records=states, columns=_STATE_COLUMNS
        )
    if daily:
        await conn.copy_records_to_table("ledger_daily", records=daily, columns=_DAILY_COLUMNS)
    return len(states)


async def roll_up(conn: asyncpg.Connection, restore: list[str]) -> int:
    """After the commitment rows: the scopes above them and the agreements, then the
    indexes back; returns the number of daily rows."""
    await conn.execute(f"ANALYZE {', '.join(_REBUILT)}")  # the roll-up's plan needs the sizes
    for kind, column in _SCOPE_COLUMN.items():
        await conn.execute(_ROLL_UP.format(scope=column), kind)
    await conn.execute(_AGREEMENTS)
    for statement in restore:
        await conn.execute(statement)
    return int(await conn.fetchval("SELECT count(*) FROM ledger_daily"))


async def tidy(conn: asyncpg.Connection) -> None:
    """After the rebuild's commit (VACUUM cannot run in a transaction): vacuum the rebuilt
    tables. Otherwise the first readers set the hint bits of millions of fresh rows, page by
    page; at 10^6 commitments that made an agreement's drill-down 4 times slower (p50 12 ms
    against 3 ms after the vacuum, which takes about 3 s)."""
    await conn.execute(f"VACUUM (ANALYZE) {', '.join(_REBUILT)}")


async def _drop_indexes(conn: asyncpg.Connection, tables: list[str]) -> list[str]:
    """Drop the tables' indexes (constraints' included); returns the statements that restore
    them."""
    restore: list[str] = []
    for r in await conn.fetch(_INDEXES_OF, tables):
        if r["con"] is not None:
            await conn.execute(f"ALTER TABLE {r['tbl']} DROP CONSTRAINT {r['con']}")
            restore.append(f"ALTER TABLE {r['tbl']} ADD CONSTRAINT {r['con']} {r['condef']}")
        else:
            await conn.execute(f"DROP INDEX {r['idx']}")
            restore.append(r["idxdef"])
    return restore
