"""Top a service's outbox up to 10^6 events for the replay figure.

The pipeline steps leave an outbox of about 10^5 events; driving 10^6 through the services
takes far longer than `make bench` may. The rows added here are clones of the rows already
there (same topics, keys, event types and envelopes), each under a new event id that is also
written into its envelope, so what the relay sends is what it would send for real events.
"""

from __future__ import annotations

import asyncpg

CHUNK = 100_000

# Clones rows 0..n-1 of the existing outbox, round robin, into new rows with fresh event ids.
_CLONE = """
INSERT INTO outbox (event_id, topic, key, event_type, envelope, published_at)
SELECT g.event_id, s.topic, s.key, s.event_type,
       jsonb_set(s.envelope, '{event_id}', to_jsonb(g.event_id::text)), now()
FROM (SELECT gen_random_uuid() AS event_id, i FROM generate_series($1::bigint, $2::bigint) i) g
JOIN (SELECT row_number() OVER (ORDER BY id) - 1 AS rn, topic, key, event_type, envelope
      FROM outbox WHERE id <= $3) s
  ON s.rn = g.i % $4
"""


async def top_up(dsn: str, events: int) -> int:
    """Add clones until the outbox holds `events` rows; returns how many were added."""
    conn = await asyncpg.connect(dsn)
    try:
        have = int(await conn.fetchval("SELECT count(*) FROM outbox"))
        if have == 0:
            raise RuntimeError("the outbox is empty: run a pipeline step first")
        last_id = int(await conn.fetchval("SELECT max(id) FROM outbox"))
        need = max(0, events - have)
        for start in range(0, need, CHUNK):
            end = min(need, start + CHUNK) - 1
            await conn.execute(_CLONE, start, end, last_id, have)
        return need
    finally:
        await conn.close()
