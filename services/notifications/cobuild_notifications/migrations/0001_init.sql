-- notifications service schema: who holds which role for which party (from grant.*), the
-- commitments' parties and assigned members (from commitments.*), follows, each person's
-- preferences and contact addresses (entered by the person, nowhere else), the inbox and the
-- deliveries the sender works from.

CREATE TABLE grants (
    grant_id   uuid PRIMARY KEY,
    subject    text        NOT NULL,
    role       text        NOT NULL,
    party_id   uuid        NOT NULL,
    active     boolean     NOT NULL,
    changed_at timestamptz NOT NULL
);
CREATE INDEX grants_party ON grants (party_id, role) WHERE active;

CREATE TABLE commitments (
    commitment_id        uuid PRIMARY KEY,
    agreement_id         uuid        NOT NULL,
    obligor_party_id     uuid        NOT NULL,
    beneficiary_party_id uuid        NOT NULL,
    title                text        NOT NULL,
    deadline             date        NOT NULL
);

CREATE TABLE commitment_members (
    commitment_id uuid NOT NULL,
    member_id     uuid NOT NULL,
    PRIMARY KEY (commitment_id, member_id)
);

CREATE TABLE follows (
    subject     text        NOT NULL,
    target_kind text        NOT NULL,  -- need, agreement, commitment
    target_id   uuid        NOT NULL,
    since       timestamptz NOT NULL,
    PRIMARY KEY (subject, target_kind, target_id)
);
CREATE INDEX follows_target ON follows (target_kind, target_id);

CREATE TABLE preferences (
    subject           text PRIMARY KEY,
    language          text        NOT NULL DEFAULT 'zh-CN',
    email             text,
    phone             text,
    wecom_id          text,
    dingtalk_id       text,
    frequency         text        NOT NULL DEFAULT 'realtime',  -- realtime, daily, weekly, none
    quiet_start       time,
    quiet_end         time,
    -- {kind: [channel, ...]} where the person changed the default (every configured channel)
    channels          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    unsubscribe_token text        NOT NULL UNIQUE,
    updated_at        timestamptz NOT NULL
);

-- The inbox: one row per (event, recipient). The in-app channel is this row itself.
CREATE TABLE notifications (
    notification_id uuid PRIMARY KEY,
    event_id        uuid        NOT NULL,
    subject         text        NOT NULL,
    kind            text        NOT NULL,
    params          jsonb       NOT NULL,
    link            text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    read_at         timestamptz,
    UNIQUE (event_id, subject)
);
CREATE INDEX notifications_inbox ON notifications (subject, created_at DESC);
CREATE INDEX notifications_unread ON notifications (subject) WHERE read_at IS NULL;

-- One row per (notification, channel) outside the app: the sender claims due rows with
-- SKIP LOCKED, sends and marks them in one transaction. A digest row waits for its digest's
-- time and goes out in one message with the person's other due digest rows.
CREATE TABLE deliveries (
    delivery_id     uuid PRIMARY KEY,
    notification_id uuid        NOT NULL REFERENCES notifications,
    subject         text        NOT NULL,
    channel         text        NOT NULL,
    address         text        NOT NULL,
    digest          boolean     NOT NULL,
    status          text        NOT NULL DEFAULT 'pending',  -- pending, sent, failed
    due_at          timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    message_id      text,
    sent_at         timestamptz,
    not_before      timestamptz,  -- wall clock: a failed send waits its back-off
    UNIQUE (notification_id, channel)
);
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE status = 'pending';
CREATE INDEX deliveries_digest ON deliveries (subject, channel) WHERE status = 'pending' AND digest;

-- Messages handed to a channel per address and business day (SMS: per number per day).
CREATE TABLE channel_counts (
    channel text    NOT NULL,
    address text    NOT NULL,
    day     date    NOT NULL,
    sent    integer NOT NULL,
    PRIMARY KEY (channel, address, day)
);

-- An agreement's two parties (from proposals and signatures: amendments name neither).
CREATE TABLE agreements (
    agreement_id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    unit_id      uuid NOT NULL
);

-- A whistle's raiser (from whistle.raised: its resolution goes back to the raiser).
CREATE TABLE whistles (
    whistle_id      uuid PRIMARY KEY,
    raiser_party_id uuid NOT NULL
);
