-- Activities (from activity.published: a sign-up's words name the activity and its start).
CREATE TABLE activities (
    activity_id  uuid PRIMARY KEY,
    community_id uuid        NOT NULL,
    title        text        NOT NULL,
    starts_at    timestamptz NOT NULL
);

-- Needs and resources published (from the agreements service's events), for the street's
-- digest: its current version's title and visibility, and whether it is still open
-- (withdrawn or claimed since: left out of a digest that has not gone yet).
CREATE TABLE street_items (
    item_id         uuid PRIMARY KEY,
    item_kind       text        NOT NULL,  -- need, resource
    party_id        uuid        NOT NULL,  -- the community (need) or unit (resource)
    title           text        NOT NULL,
    visibility      text        NOT NULL,  -- a need's: public, paired_units, private
    community_ids   uuid[]      NOT NULL DEFAULT '{}',  -- a resource's served ones (none: any)
    available_until date,                  -- a resource's last day
    version         integer     NOT NULL,
    open            boolean     NOT NULL,
    changed_at      timestamptz NOT NULL
);

-- What a notification is about, when its visibility is checked again before it is sent and
-- shown (the street's news).
ALTER TABLE notifications ADD COLUMN about_kind text, ADD COLUMN about_id uuid;

-- WeChat subscription messages (订阅消息): the person's WeChat id for the mini program, and
-- their consent balance (each consent they gave allows one message; a message without one is
-- not attempted, and its delivery says so).
ALTER TABLE preferences ADD COLUMN wechat_openid text;
CREATE INDEX preferences_digests ON preferences (subject) WHERE frequency IN ('daily', 'weekly');
CREATE TABLE wechat_consents (
    subject    text PRIMARY KEY,
    balance    integer     NOT NULL CHECK (balance >= 0),
    granted    integer     NOT NULL,
    used       integer     NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL
);
