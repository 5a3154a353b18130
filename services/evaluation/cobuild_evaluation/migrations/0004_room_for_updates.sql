-- Room on each page for the next version of a row that is updated in place again and again:
-- an update that finds space on its own page and changes no indexed column is a HOT update
-- (no new index entries; the old version is pruned by the next reader of the page). With full
-- pages many of them moved the row instead (72% of ledger_commitments' in a 10^4 pipeline),
-- adding index entries and leaving dead rows (bench/RESULTS.md, "What the profiles showed").
-- Applies to pages written from now on.
ALTER TABLE ledger_daily SET (fillfactor = 70);        -- every fact moves its scopes' days
ALTER TABLE ledger_commitments SET (fillfactor = 80);  -- fulfilled, cancelled or flagged once
ALTER TABLE member_points SET (fillfactor = 80);       -- every award adds to a member's year
