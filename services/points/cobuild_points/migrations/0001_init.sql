-- Points service: members (personal data stays here), activities, wishes and the points ledger.

CREATE TABLE member (
    member_id              uuid PRIMARY KEY,
    name                   text        NOT NULL,
    phone                  text        NOT NULL UNIQUE,
    unit_id                uuid        NOT NULL,
    residence_community_id uuid        NOT NULL,
    grid_id                uuid,
    status                 text        NOT NULL DEFAULT 'registered'
                           CHECK (status IN ('registered', 'requested', 'reported', 'left')),
    requested_community_id uuid,
    community_id           uuid,  -- the community the member serves (after acceptance)
    show_full_name         boolean     NOT NULL DEFAULT false,
    registered_by          text        NOT NULL,
    registered_at          timestamptz NOT NULL,
    reported_at            timestamptz,
    left_at                timestamptz,
    left_reason            text
);
CREATE INDEX member_unit ON member (unit_id);
CREATE INDEX member_community ON member (community_id);
CREATE INDEX member_requested ON member (requested_community_id) WHERE status = 'requested';

CREATE TABLE activity (
    activity_id   uuid PRIMARY KEY,
    community_id  uuid        NOT NULL,
    title         text        NOT NULL,
    category      text        NOT NULL,
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL CHECK (ends_at > starts_at),
    place         text        NOT NULL,
    capacity      integer     NOT NULL CHECK (capacity >= 1),
    rule_code     text        NOT NULL,
    check_in_code text        NOT NULL,
    published_at  timestamptz NOT NULL
);
CREATE INDEX activity_community ON activity (community_id, starts_at);

CREATE TABLE signup (
    activity_id   uuid        NOT NULL REFERENCES activity,
    member_id     uuid        NOT NULL REFERENCES member,
    signed_up_at  timestamptz NOT NULL,
    checked_in_at timestamptz,
    hours         numeric(5, 2),
    confirmed_at  timestamptz,
    confirmed_by  text,
    PRIMARY KEY (activity_id, member_id)
);
CREATE INDEX signup_member ON signup (member_id);

CREATE TABLE wish (
    wish_id      uuid PRIMARY KEY,
    community_id uuid        NOT NULL,
    title        text        NOT NULL,
    description  text        NOT NULL DEFAULT '',
    status       text        NOT NULL DEFAULT 'open'
                 CHECK (status IN ('open', 'claimed', 'done', 'fulfilled')),
    member_id    uuid REFERENCES member,
    published_at timestamptz NOT NULL,
    claimed_at   timestamptz,
    done_at      timestamptz,
    fulfilled_at timestamptz
);
CREATE INDEX wish_community ON wish (community_id, status);

-- The rule set version each year started with: a past year's rules stay frozen.
CREATE TABLE rule_set_year (
    year     integer PRIMARY KEY,
    version  text        NOT NULL,
    fixed_at timestamptz NOT NULL
);

-- Head of each member-year hash chain; appending locks this row (no forks).
CREATE TABLE points_chain (
    member_id uuid          NOT NULL,
    year      integer       NOT NULL,
    head_hash text          NOT NULL,
    length    integer       NOT NULL DEFAULT 0,
    balance   numeric(12, 2) NOT NULL DEFAULT 0,
    PRIMARY KEY (member_id, year)
);

-- The append-only journal. A reversal is a negative entry in the reversed entry's chain.
CREATE TABLE points_entry (
    entry_id          uuid PRIMARY KEY,
    member_id         uuid          NOT NULL,
    year              integer       NOT NULL,
    seq               integer       NOT NULL,
    kind              text          NOT NULL CHECK (kind IN ('award', 'reversal')),
    points            numeric(12, 2) NOT NULL,
    reason            text          NOT NULL,
    cause_event_id    uuid          NOT NULL,
    rule_code         text          NOT NULL,
    rule_set_version  text          NOT NULL,
    category          text          NOT NULL,
    source_id         uuid,  -- the activity, commitment or wish that earned it
    community_id      uuid          NOT NULL,
    unit_id           uuid          NOT NULL,
    business_date     date          NOT NULL,
    capped            boolean       NOT NULL DEFAULT false,
    cap_reason        text,
    reverses_entry_id uuid UNIQUE REFERENCES points_entry,
    recorded_at       timestamptz   NOT NULL,
    prev_hash         text          NOT NULL,
    hash              text          NOT NULL,
    UNIQUE (cause_event_id, member_id, rule_code),
    UNIQUE (member_id, year, seq),
    CHECK ((kind = 'award') = (points > 0))
);
CREATE INDEX points_entry_day ON points_entry (member_id, business_date);
CREATE INDEX points_entry_community ON points_entry (community_id, year);
CREATE INDEX points_entry_unit ON points_entry (unit_id, year);

CREATE FUNCTION points_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'points_entry is append-only: post a reversing entry instead';
END $$;
CREATE TRIGGER points_entry_append_only BEFORE UPDATE OR DELETE ON points_entry
    FOR EACH ROW EXECUTE FUNCTION points_entry_append_only();

-- Year-end scores from evaluation (member ids only), joined with names for the honour roll.
CREATE TABLE member_score (
    member_id         uuid          NOT NULL,
    year              integer       NOT NULL,
    assessment_id     uuid          NOT NULL,
    policy_version    text          NOT NULL,
    community_id      uuid          NOT NULL,
    unit_id           uuid          NOT NULL,
    score             numeric(5, 2) NOT NULL,
    grade             text          NOT NULL,
    rank_in_community integer       NOT NULL,
    PRIMARY KEY (member_id, year)
);
CREATE INDEX member_score_community ON member_score (community_id, year);
