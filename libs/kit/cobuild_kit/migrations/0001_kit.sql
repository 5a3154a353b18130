-- Runtime kit tables, present in every service's database.

-- Outbox: events written in the same transaction as the state change they describe.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    topic        text        NOT NULL,
    key          text        NOT NULL,
    event_type   text        NOT NULL,
    envelope     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_created_at ON outbox (created_at);

-- Inbox: one row per (consumer, event) applied, in the effect's transaction.
CREATE TABLE inbox (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    event_type   text        NOT NULL,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    "offset"     bigint      NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Failed attempts per message, so retries stay bounded across restarts.
CREATE TABLE consumer_failures (
    consumer   text    NOT NULL,
    topic      text    NOT NULL,
    partition  integer NOT NULL,
    "offset"   bigint  NOT NULL,
    attempts   integer NOT NULL,
    last_error text    NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition, "offset")
);

-- What this service sent to a dead-letter topic, and why.
CREATE TABLE dead_letters (
    id               bigserial PRIMARY KEY,
    consumer         text        NOT NULL,
    topic            text        NOT NULL,
    partition        integer     NOT NULL,
    "offset"         bigint      NOT NULL,
    event_id         uuid,
    event_type       text,
    error            text        NOT NULL,
    dead_lettered_at timestamptz NOT NULL DEFAULT now()
);

-- Idempotency-Key: the same key and body returns the stored response.
CREATE TABLE idempotency_keys (
    scope        text        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    status       integer,
    content_type text,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

-- Read model of the parties directory (from party.* events), for scope checks.
CREATE TABLE party_directory (
    party_id             uuid PRIMARY KEY,
    kind                 text    NOT NULL,
    name                 text    NOT NULL,
    parent_id            uuid,
    unit_type            text,
    paired_community_ids uuid[]  NOT NULL DEFAULT '{}',
    active               boolean NOT NULL DEFAULT true,
    version              integer NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX party_directory_parent ON party_directory (parent_id);
