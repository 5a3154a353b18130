"""Top the evaluation ledger up to 10^6 commitments for the rebuild and query figures.

Driving 10^6 commitments through the services takes far longer than `make bench` may (the
pipeline figures measure that path at 10^4 and 10^5). Here the journal is written the way the
evaluation consumer writes it (`store.ledger.fact_data`), by COPY, cloning the terms of the
commitments the pipeline steps opened (their agreements, communities, units, deadlines and
amounts). The rebuild then derives every aggregate from that journal, so the queries afterwards
read aggregates the service computed itself.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import asyncpg
from cobuild_evaluation.domain.ledger import Fulfilled, Opened
from cobuild_evaluation.store.ledger import fact_data

CHUNK = 50_000
COLUMNS = ("event_id", "commitment_id", "fact", "business_day", "data")


async def top_up(dsn: str, commitments: int) -> tuple[int, int]:
    """Add journal entries until the ledger holds `commitments` commitments; returns
    (commitments added, journal entries added). Every third clone is fulfilled, on time."""
    conn = await asyncpg.connect(dsn)
    try:
        have = int(await conn.fetchval("SELECT count(*) FROM ledger_commitments"))
        need = commitments - have
        if need <= 0:
            return 0, 0
        terms = await conn.fetch(
            """SELECT agreement_id, community_id, unit_id, beneficiary_party_id, deadline,
                      committed_fen, opened_on
               FROM ledger_commitments ORDER BY commitment_id LIMIT 20000"""
        )
        if not terms:
            raise RuntimeError("the ledger is empty: run a pipeline step first")
        added = 0
        for chunk in _chunks(_entries(terms, need), CHUNK):
            await conn.copy_records_to_table("ledger_journal", records=chunk, columns=COLUMNS)
            added += len(chunk)
        return need, added
    finally:
        await conn.close()


def _entries(terms: list[asyncpg.Record], n: int) -> Iterator[tuple[Any, ...]]:
    for i in range(n):
        t = terms[i % len(terms)]
        cid = uuid.uuid4()
        opened = Opened(
            commitment_id=str(cid),
            agreement_id=str(t["agreement_id"]),
            community_id=str(t["community_id"]),
            unit_id=str(t["unit_id"]),
            beneficiary_party_id=str(t["beneficiary_party_id"]),
            deadline=t["deadline"],
            committed_fen=int(t["committed_fen"]),
            day=t["opened_on"],
        )
        yield _row(cid, "opened", opened.day, fact_data(opened))
        if i % 3 == 0:
            day: date = min(t["deadline"], t["opened_on"] + timedelta(days=30))
            done = Fulfilled(day, int(t["committed_fen"]), int(t["committed_fen"]), True)
            yield _row(cid, "fulfilled", day, fact_data(done))


def _row(cid: uuid.UUID, fact: str, day: date, data: dict[str, Any]) -> tuple[Any, ...]:
    return (uuid.uuid4(), cid, fact, day, json.dumps(data))


def _chunks(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
