-- The ledger's read paths are index-only scans (a party's agreements by skip scan, a scope's
-- daily rows by range), which read the heap for every page the visibility map does not mark
-- all-visible. The consumer updates every commitment's state row and its scopes' daily rows
-- as facts arrive, so with PostgreSQL's defaults (vacuum at 20% dead or inserted rows) a
-- ledger fed 10^6 commitments waited minutes for its first vacuum, and the community
-- drill-down read the heap row by row meanwhile (bench-large: p99 33 ms, 24 ms once
-- vacuumed). Vacuum these tables after 2% instead; vacuum is throttled by its cost limit.
ALTER TABLE ledger_commitments SET (
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_insert_scale_factor = 0.02,
    autovacuum_analyze_scale_factor = 0.02
);
ALTER TABLE ledger_daily SET (
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_insert_scale_factor = 0.02,
    autovacuum_analyze_scale_factor = 0.02
);
