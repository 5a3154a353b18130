"""The fulfilment ledger's money sums cannot overflow (hardening issue, High 4).

Every commitment adds its fen to the day's system-wide row (scope 'all'). A bigint row made
one huge commitment fail every other commitment of that business day ("bigint out of range",
then the DLQ), and an as-of sum cast back to bigint made the ledger, boards and exports answer
500. The contracts now bound one amount by MAX_FEN (10^10 fen), and the daily money columns and
their sums are numeric (migration 0006): here commitments at the bound pile onto one day, the
day's row already holds more than any bigint could take, and the as-of query still answers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from cobuild_contracts.base import MAX_FEN
from cobuild_contracts.events.commitments import CommitmentOpened
from cobuild_evaluation import consumers
from cobuild_evaluation.domain.ledger import ALL_SCOPE
from cobuild_evaluation.store import ledger as ledger_store
from cobuild_evaluation.usecases import ledger, ledger_rebuild, ledger_view
from cobuild_evaluation.usecases.scopes import ScopeKind
from cobuild_kit.db import create_pool
from cobuild_kit.testing import prepare_database
from pydantic import ValidationError

DAY = date(2026, 3, 2)
OPENED_AT = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # noon in Asia/Shanghai, same date
BIGINT_MAX = 2**63 - 1
BATCH = 500  # the consumer's records per batch (consumer_max_records)


def opened(funds_fen: int) -> CommitmentOpened:
    """A commitment of its own agreement, unit and community (any district), opened on DAY."""
    community, unit = uuid4(), uuid4()
    return CommitmentOpened(
        commitment_id=uuid4(), agreement_id=uuid4(), community_id=community, unit_id=unit,
        obligor_party_id=unit, beneficiary_party_id=community, title="Lighting", kind="task",
        category="happy_compound", deadline=date(2026, 12, 31), funds_fen=funds_fen,
        opened_at=OPENED_AT,
    )  # fmt: skip


async def append(pool: asyncpg.Pool, events: list[CommitmentOpened]) -> None:
    for i in range(0, len(events), BATCH):
        async with pool.acquire() as conn, conn.transaction():
            entries: list[ledger.Entry] = [
                (uuid4(), e.commitment_id, consumers.opened_fact(e)) for e in events[i : i + BATCH]
            ]
            await ledger.record_many(conn, entries)


async def all_figures(pool: asyncpg.Pool, as_of: date) -> dict[str, Any]:
    async with pool.acquire() as conn:
        figs = await ledger_store.figures(conn, "all", [ALL_SCOPE], as_of)
        view = await ledger_view.view(conn, ScopeKind.ALL, ALL_SCOPE, as_of)
    assert view["figures"] == figs.as_dict()  # what /ledger and the exports answer
    return figs.as_dict()


@pytest.fixture
async def pool(pg_server: Any) -> Any:
    dsn = await pg_server.create_database("ledgerbounds")
    await prepare_database(dsn, "evaluation")
    p = await create_pool(dsn)
    try:
        yield p
    finally:
        await p.close()


def test_the_contract_refuses_an_amount_above_the_bound() -> None:
    assert opened(MAX_FEN).funds_fen == MAX_FEN
    for too_big in (MAX_FEN + 1, 2**63 - 1, 2**64):
        with pytest.raises(ValidationError, match="funds_fen"):
            opened(too_big)


async def test_commitments_at_the_bound_on_one_day_add_up_exactly(pool: asyncpg.Pool) -> None:
    n = 2_000  # four consumer batches, every one of them at the cap
    await append(pool, [opened(MAX_FEN) for _ in range(n)])
    figs = await all_figures(pool, DAY)
    assert (figs["signed"], figs["signed_fen"]) == (n, n * MAX_FEN)
    # The rebuild's roll-up sums the numeric day rows (ledger_total(numeric)) to the same.
    async with pool.acquire() as conn, conn.transaction():
        await ledger_rebuild.rebuild(conn)
    assert await all_figures(pool, DAY) == figs


async def test_the_days_row_and_the_as_of_sum_have_no_bigint_ceiling(pool: asyncpg.Pool) -> None:
    """The day's row already holds the most a bigint can, and so does the day before: another
    commitment at the bound still books, and the as-of sum (beyond 2^64) still answers."""
    async with pool.acquire() as conn:
        for day in (date(2026, 3, 1), DAY):
            await conn.execute(
                "INSERT INTO ledger_daily (scope_kind, scope_id, day, signed, signed_fen)"
                " VALUES ('all', $1, $2, 1, $3)",
                ALL_SCOPE, day, BIGINT_MAX,
            )  # fmt: skip
    await append(pool, [opened(MAX_FEN), opened(MAX_FEN)])
    async with pool.acquire() as conn:
        row = await conn.fetchval(
            "SELECT signed_fen FROM ledger_daily WHERE scope_kind = 'all' AND day = $1", DAY
        )
    assert row == BIGINT_MAX + 2 * MAX_FEN
    figs = await all_figures(pool, DAY)
    assert figs["signed_fen"] == 2 * BIGINT_MAX + 2 * MAX_FEN
    assert figs["signed"] == 4
