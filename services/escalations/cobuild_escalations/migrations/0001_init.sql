-- escalations service schema (吹哨报到)

-- Each district's routing table, one row per version; a whistle keeps the version it was
-- routed with, so an edit applies to new matters only.
CREATE TABLE routing_tables (
    district_id  uuid        NOT NULL,
    version      integer     NOT NULL CHECK (version >= 1),
    rules        jsonb       NOT NULL,  -- [{"department_id", "category", "raiser_level", "street_id"}]
    limits       jsonb       NOT NULL,  -- [{"category", "urgency", "respond": "4h", "resolve": "3d"}]
    note         text        NOT NULL DEFAULT '',
    published_by text        NOT NULL,
    published_at timestamptz NOT NULL,
    PRIMARY KEY (district_id, version)
);

CREATE TABLE whistles (
    whistle_id             uuid PRIMARY KEY,
    title                  text        NOT NULL,
    description            text        NOT NULL,
    category               text        NOT NULL,
    urgency                text        NOT NULL,
    place_id               uuid        NOT NULL,
    place_kind             text        NOT NULL,
    community_id           uuid,
    street_id              uuid        NOT NULL,
    district_id            uuid        NOT NULL,
    raiser_party_id        uuid        NOT NULL,
    raiser_level           text        NOT NULL,
    raised_by              text        NOT NULL,
    raised_at              timestamptz NOT NULL,
    receiver_party_id      uuid        NOT NULL,
    receiver_kind          text        NOT NULL,
    routing_district_id    uuid        NOT NULL,
    routing_version        integer     NOT NULL,
    respond_by             timestamptz NOT NULL,
    respond_by_provisional boolean     NOT NULL,
    resolve_by             timestamptz NOT NULL,
    resolve_by_provisional boolean     NOT NULL,
    level                  text        NOT NULL,
    state                  text        NOT NULL,
    responded_at           timestamptz,
    responded_by           text,
    who_comes              text,
    response_note          text        NOT NULL DEFAULT '',
    resolved_at            timestamptz,
    resolved_by            text,
    resolution_note        text        NOT NULL DEFAULT '',
    resolution_evidence    uuid[]      NOT NULL DEFAULT '{}',
    closed_at              timestamptz,
    closed_by              text,
    -- One-time flags, set only by conditional UPDATEs in the same transaction as their event.
    response_missed_at     timestamptz,
    resolution_missed_at   timestamptz,
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX whistles_raiser ON whistles (raiser_party_id, raised_at);
CREATE INDEX whistles_receiver ON whistles (receiver_party_id, state);
CREATE INDEX whistles_street ON whistles (street_id, raised_at);
CREATE INDEX whistles_district ON whistles (district_id, raised_at);
-- What the escalation worker scans: a limit not yet flagged on a whistle not closed.
CREATE INDEX whistles_respond_due ON whistles (respond_by)
    WHERE response_missed_at IS NULL AND state = 'routed';
CREATE INDEX whistles_resolve_due ON whistles (resolve_by)
    WHERE resolution_missed_at IS NULL AND state <> 'closed';

-- Every step of a whistle, in order: the event it published and what stays here (a hand-on's
-- reason, who comes, notes).
CREATE TABLE whistle_history (
    seq          bigserial PRIMARY KEY,
    whistle_id   uuid        NOT NULL REFERENCES whistles,
    event_id     uuid        NOT NULL UNIQUE,
    event_type   text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    payload      jsonb       NOT NULL,
    detail       jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX whistle_history_whistle ON whistle_history (whistle_id, seq);

-- Evidence metadata; the bytes live under data_dir/evidence/<sha256[:2]>/<sha256>.
CREATE TABLE evidence (
    evidence_id   uuid PRIMARY KEY,
    whistle_id    uuid        NOT NULL REFERENCES whistles,
    party_id      uuid        NOT NULL,  -- the party the uploader acted for
    sha256        text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_type  text        NOT NULL,
    size_bytes    bigint      NOT NULL CHECK (size_bytes > 0),
    filename      text        NOT NULL,
    uploaded_by   text        NOT NULL,
    uploaded_at   timestamptz NOT NULL
);
CREATE INDEX evidence_whistle ON evidence (whistle_id, uploaded_at);
CREATE INDEX evidence_sha256 ON evidence (sha256);

-- Residents' one-time rating codes: hashes only, used once; each issue and redemption audited.
CREATE TABLE rating_codes (
    code_hash       text PRIMARY KEY,
    whistle_id      uuid        NOT NULL REFERENCES whistles,
    issued_by       text        NOT NULL,
    issuer_party_id uuid        NOT NULL,
    issued_from     text        NOT NULL,
    issued_at       timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);
CREATE INDEX rating_codes_whistle ON rating_codes (whistle_id);

CREATE TABLE ratings (
    rating_id      uuid PRIMARY KEY,
    whistle_id     uuid        NOT NULL REFERENCES whistles,
    code_hash      text        NOT NULL UNIQUE REFERENCES rating_codes,
    rating         integer     NOT NULL CHECK (rating BETWEEN 1 AND 5),
    satisfied      boolean     NOT NULL,
    comment        text        NOT NULL DEFAULT '',
    rated_at       timestamptz NOT NULL,
    client_address text        NOT NULL,
    -- A redemption by the issuing party itself: kept, announced to no one, counted nowhere.
    flagged        boolean     NOT NULL DEFAULT false,
    flag_reason    text
);
CREATE INDEX ratings_whistle ON ratings (whistle_id);
