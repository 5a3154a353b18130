-- Room on each page for the chain head's next version: every award moves its member-year's
-- head, and with space on the page the update is HOT (no new index entry, the old version
-- pruned in place). Applies to pages written from now on.
ALTER TABLE points_chain SET (fillfactor = 80);
