-- The commitments points has heard of (from commitment.opened), so that a commitment.fulfilled
-- naming one it never heard of is not awarded: it waits pending for the open, then goes to the
-- DLQ after the kit's grace period (cobuild_kit.pending; hardening issue, "Forged events").
CREATE TABLE known_commitment (
    commitment_id uuid        PRIMARY KEY,
    opened_at     timestamptz NOT NULL
);
