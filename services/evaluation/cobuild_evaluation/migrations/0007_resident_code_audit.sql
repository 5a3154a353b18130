-- Resident codes (hardening): who issued each code and from where, so that a redemption by the
-- issuing party itself is told apart, stored flagged and left out of the means.
ALTER TABLE resident_codes
    ADD COLUMN issuer_party_id uuid,
    ADD COLUMN issued_from     text,
    ADD COLUMN flagged         boolean NOT NULL DEFAULT false;

-- The audit record: one row when a code is issued, one when it is redeemed. Codes stay hashed.
CREATE TABLE resident_code_audit (
    id             bigserial PRIMARY KEY,
    code_hash      text NOT NULL REFERENCES resident_codes,
    commitment_id  uuid NOT NULL,
    action         text NOT NULL CHECK (action IN ('issued', 'redeemed')),
    at             timestamptz NOT NULL,
    actor_subject  text,         -- the issuer's token subject; a redeemer's, if it sent a token
    party_id       uuid,         -- the issuing party; a redeemer's token party, if any
    client_address text NOT NULL,
    flagged        boolean NOT NULL DEFAULT false,
    flag_reason    text,
    evaluation_id  uuid          -- the redemption's evaluation
);
CREATE INDEX resident_code_audit_commitment ON resident_code_audit (commitment_id, id);
CREATE INDEX resident_code_audit_code ON resident_code_audit (code_hash);

-- A flagged evaluation is kept, but counts in no mean and no aggregate.
ALTER TABLE evaluations ADD COLUMN flagged boolean NOT NULL DEFAULT false;
