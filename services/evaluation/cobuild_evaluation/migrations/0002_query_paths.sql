-- Ledger query paths (issue 9): a community's or unit's drill-down reads its agreements from
-- the commitment states without scanning them all.
CREATE INDEX ledger_commitments_community ON ledger_commitments (community_id, agreement_id);
CREATE INDEX ledger_commitments_unit ON ledger_commitments (unit_id, agreement_id);

-- The parties directory is held in memory for scope checks and drill-downs; this counter tells
-- a reader whether its copy is current (one cheap read instead of recursive queries).
CREATE TABLE party_directory_version (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version  bigint  NOT NULL
);
INSERT INTO party_directory_version (version) VALUES (0);

CREATE FUNCTION bump_party_directory_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE party_directory_version SET version = version + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER party_directory_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON party_directory
    FOR EACH STATEMENT EXECUTE FUNCTION bump_party_directory_version();
