-- commitments service schema

-- Agreement-level facts from agreement.signed, needed to open amended items.
CREATE TABLE agreements (
    agreement_id  uuid PRIMARY KEY,
    community_id  uuid        NOT NULL,
    unit_id       uuid        NOT NULL,
    street_id     uuid,
    district_id   uuid,
    terminated_at timestamptz
);

CREATE TABLE commitments (
    commitment_id        uuid PRIMARY KEY,  -- minted by agreements, kept across versions
    agreement_id         uuid        NOT NULL REFERENCES agreements,
    community_id         uuid        NOT NULL,
    unit_id              uuid        NOT NULL,
    obligor_party_id     uuid        NOT NULL,
    beneficiary_party_id uuid        NOT NULL,
    title                text        NOT NULL,
    kind                 text        NOT NULL,
    category             text        NOT NULL,
    deadline             date        NOT NULL,  -- Asia/Shanghai business date
    funds_fen            bigint      NOT NULL CHECK (funds_fen >= 0),
    quantity             integer     NOT NULL CHECK (quantity >= 1),
    quantity_unit        text        NOT NULL,
    status               text        NOT NULL,
    opened_at            timestamptz NOT NULL,
    claimed_by           text,
    claimed_at           timestamptz,
    member_ids           uuid[]      NOT NULL DEFAULT '{}',
    percent              integer     NOT NULL DEFAULT 0,
    note                 text        NOT NULL DEFAULT '',
    paid_fen             bigint      NOT NULL DEFAULT 0 CHECK (paid_fen >= 0),
    payment_ref          text,
    done_at              timestamptz,
    participants         jsonb       NOT NULL DEFAULT '[]',
    actual_quantity      integer,
    confirmed_at         timestamptz,
    cancelled_at         timestamptz,
    cancel_reason        text,
    -- One-time flags, set only by conditional UPDATEs in the same transaction as their event.
    overdue_at           timestamptz,
    reminded_at          timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX commitments_agreement ON commitments (agreement_id);
CREATE INDEX commitments_obligor ON commitments (obligor_party_id, deadline);
CREATE INDEX commitments_unit ON commitments (unit_id);
CREATE INDEX commitments_community ON commitments (community_id);
-- What the deadlines worker scans: not final, not yet flagged or reminded.
CREATE INDEX commitments_open_deadline ON commitments (deadline)
    WHERE status NOT IN ('fulfilled', 'cancelled') AND (overdue_at IS NULL OR reminded_at IS NULL);

-- Every event of a commitment, in order.
CREATE TABLE commitment_history (
    seq           bigserial PRIMARY KEY,
    commitment_id uuid        NOT NULL REFERENCES commitments,
    event_id      uuid        NOT NULL UNIQUE,
    event_type    text        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    payload       jsonb       NOT NULL,
    published     boolean     NOT NULL DEFAULT true  -- false: a step with no event (done)
);
CREATE INDEX commitment_history_commitment ON commitment_history (commitment_id, seq);

-- Evidence metadata; the bytes live under data_dir/evidence/<sha256[:2]>/<sha256>.
CREATE TABLE evidence (
    evidence_id   uuid PRIMARY KEY,
    commitment_id uuid        NOT NULL REFERENCES commitments,
    sha256        text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_type  text        NOT NULL,
    size_bytes    bigint      NOT NULL CHECK (size_bytes > 0),
    filename      text        NOT NULL,
    uploaded_by   text        NOT NULL,
    uploaded_at   timestamptz NOT NULL
);
CREATE INDEX evidence_commitment ON evidence (commitment_id, uploaded_at);
CREATE INDEX evidence_sha256 ON evidence (sha256);
