-- The agreements the ledger has heard of, with their parties: one row per agreement, written
-- with each batch's Opened facts and again by a rebuild. A community's or unit's drill-down
-- reads its agreements here. The skip scan of ledger_commitments this replaces cost one index
-- probe per agreement (about 4,800 for a community at 10^6 commitments, p99 up to 49 ms).
CREATE TABLE ledger_agreements (
    agreement_id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    unit_id      uuid NOT NULL
);
INSERT INTO ledger_agreements (agreement_id, community_id, unit_id)
SELECT DISTINCT ON (agreement_id) agreement_id, community_id, unit_id
FROM ledger_commitments ORDER BY agreement_id;
CREATE INDEX ledger_agreements_community ON ledger_agreements (community_id, agreement_id);
CREATE INDEX ledger_agreements_unit ON ledger_agreements (unit_id, agreement_id);

-- Their only readers (the skip scan, a district's units) now read ledger_agreements; two
-- fewer index entries for every commitment opened.
DROP INDEX ledger_commitments_community;
DROP INDEX ledger_commitments_unit;
