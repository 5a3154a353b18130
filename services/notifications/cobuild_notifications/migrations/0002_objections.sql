-- Who filed an objection (from objection.filed: its decision goes back to them).
CREATE TABLE objections (
    objection_id uuid PRIMARY KEY,
    filed_by     text NOT NULL
);
