-- Issue 35: an assessment is published for objections first (公示, "publicised") and final
-- after its deadline with no open objection. Publications made before this were final.
ALTER TABLE assessments ADD COLUMN state text NOT NULL DEFAULT 'final'
    CHECK (state IN ('publicised', 'final'));
ALTER TABLE assessments ADD COLUMN objection_deadline timestamptz;
ALTER TABLE assessments ADD COLUMN deadline_provisional boolean NOT NULL DEFAULT false;
ALTER TABLE assessments ADD COLUMN excellent_quota numeric(5, 4);
ALTER TABLE assessments ADD COLUMN finalised_by text;
ALTER TABLE assessments ADD COLUMN finalised_at timestamptz;
-- A re-run for an upheld objection keeps the policy version (a correction is not a new
-- policy): the one-publication-per-version rule holds for the other publications.
ALTER TABLE assessments ADD COLUMN upholds uuid;
DROP INDEX assessments_policy;
CREATE UNIQUE INDEX assessments_policy ON assessments (district_id, year, policy_version)
    WHERE upholds IS NULL;

-- A subject whose grade changed in a re-run gets its own objection window (later than the
-- publication's deadline); copied forward when a later re-run supersedes.
CREATE TABLE objection_windows (
    assessment_id uuid NOT NULL REFERENCES assessments,
    subject_kind  text NOT NULL CHECK (subject_kind IN ('member', 'unit')),
    subject_id    uuid NOT NULL,
    deadline      timestamptz NOT NULL,
    PRIMARY KEY (assessment_id, subject_kind, subject_id)
);

CREATE TABLE objections (
    objection_id    uuid PRIMARY KEY,
    district_id     uuid NOT NULL,
    year            integer NOT NULL,
    assessment_id   uuid NOT NULL REFERENCES assessments,
    subject_kind    text NOT NULL CHECK (subject_kind IN ('member', 'unit')),
    subject_id      uuid NOT NULL,
    filed_by        text NOT NULL,
    filed_role      text NOT NULL,
    reason          text NOT NULL,
    filed_at        timestamptz NOT NULL,
    state           text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'upheld', 'rejected')),
    decided_by      text,
    decided_at      timestamptz,
    decision_reason text,
    corrections     jsonb,
    corrected_assessment_id uuid REFERENCES assessments
);
CREATE INDEX objections_year ON objections (district_id, year, state);
CREATE INDEX objections_subject ON objections (subject_id, year);

-- Attachments: bytes content-addressed under <data_dir>/objections/ (store.objection_files).
CREATE TABLE objection_files (
    file_id      uuid PRIMARY KEY,
    objection_id uuid NOT NULL REFERENCES objections,
    sha256       text NOT NULL,
    content_type text NOT NULL,
    size_bytes   bigint NOT NULL,
    filename     text NOT NULL,
    added_at     timestamptz NOT NULL
);
CREATE INDEX objection_files_objection ON objection_files (objection_id);

-- Corrected inputs of a district-year (an upheld objection's), applied by every later run.
CREATE TABLE assessment_corrections (
    district_id  uuid NOT NULL,
    year         integer NOT NULL,
    subject_kind text NOT NULL CHECK (subject_kind IN ('member', 'unit')),
    subject_id   uuid NOT NULL,
    component    text NOT NULL,
    value        numeric(14, 4) NOT NULL,
    objection_id uuid NOT NULL REFERENCES objections,
    PRIMARY KEY (district_id, year, subject_kind, subject_id, component)
);

-- The audit trail of a district-year's publication: every publish, re-run, objection,
-- decision and finalisation, with who and when (business time).
CREATE TABLE assessment_audit (
    entry_id      bigserial PRIMARY KEY,
    district_id   uuid NOT NULL,
    year          integer NOT NULL,
    assessment_id uuid REFERENCES assessments,
    action        text NOT NULL,
    actor         text NOT NULL,
    at            timestamptz NOT NULL,
    detail        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX assessment_audit_year ON assessment_audit (district_id, year, entry_id);
