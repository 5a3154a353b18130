-- Every version of a party as it was saved, who saved it and when: the directory's edit
-- history (issue 35), written in the same transaction as the party. The parties registered
-- before this table start their history at the version they have now.
CREATE TABLE party_version (
    party_id             uuid        NOT NULL REFERENCES party (party_id),
    version              integer     NOT NULL,
    kind                 text        NOT NULL,
    name                 text        NOT NULL,
    parent_id            uuid,
    unit_type            text,
    code                 text,
    paired_community_ids uuid[]      NOT NULL DEFAULT '{}',
    active               boolean     NOT NULL,
    changed_by           text,
    changed_at           timestamptz NOT NULL,
    PRIMARY KEY (party_id, version)
);
INSERT INTO party_version (party_id, version, kind, name, parent_id, unit_type, code,
                           paired_community_ids, active, changed_by, changed_at)
SELECT party_id, version, kind, name, parent_id, unit_type, code, paired_community_ids, active,
       NULL, updated_at
FROM party;
