-- Alliances (党建联盟) of a street or a community, their member units over time, the rotation
-- of the chair (轮值主席), and the joint meetings (联席会议) with their decisions. A decision
-- becomes an agreement of origin 'meeting' with one commitment (ARCHITECTURE.md, "Alliances
-- and the joint meeting").

ALTER TABLE agreement DROP CONSTRAINT agreement_origin_check;
ALTER TABLE agreement ADD CONSTRAINT agreement_origin_check
    CHECK (origin IN ('negotiated', 'claim', 'meeting'));
ALTER TABLE proposal DROP CONSTRAINT proposal_round_check;
ALTER TABLE proposal ADD CONSTRAINT proposal_round_check
    CHECK (round IN ('proposal', 'counter', 'amendment', 'claim', 'decision'));

CREATE TABLE alliance (
    alliance_id   uuid PRIMARY KEY,
    host_party_id uuid        NOT NULL REFERENCES party (party_id),
    name          text        NOT NULL,
    formed_on     date        NOT NULL,
    mode          text        NOT NULL CHECK (mode IN ('per_meeting', 'per_period')),
    period_months integer     CHECK (period_months BETWEEN 1 AND 12),
    formed_by     text        NOT NULL,
    formed_at     timestamptz NOT NULL,
    CHECK ((mode = 'per_period') = (period_months IS NOT NULL))
);
CREATE INDEX alliance_host ON alliance (host_party_id);

-- One row per stint: a unit that leaves and joins again has two.
CREATE TABLE alliance_member (
    alliance_id uuid        NOT NULL REFERENCES alliance (alliance_id),
    unit_id     uuid        NOT NULL REFERENCES party (party_id),
    joined_on   date        NOT NULL,
    left_on     date        CHECK (left_on > joined_on),
    recorded_at timestamptz NOT NULL,
    left_recorded_at timestamptz,
    PRIMARY KEY (alliance_id, unit_id, joined_on)
);
CREATE INDEX alliance_member_unit ON alliance_member (unit_id);
-- At most one open stint per unit and alliance.
CREATE UNIQUE INDEX alliance_member_open ON alliance_member (alliance_id, unit_id)
    WHERE left_on IS NULL;

-- Every version of the rotation order, each in force from its date.
CREATE TABLE alliance_rotation (
    alliance_id    uuid        NOT NULL REFERENCES alliance (alliance_id),
    version        integer     NOT NULL CHECK (version >= 1),
    effective_from date        NOT NULL,
    unit_ids       uuid[]      NOT NULL,
    set_by         text        NOT NULL,
    set_at         timestamptz NOT NULL,
    PRIMARY KEY (alliance_id, version)
);

CREATE TABLE meeting (
    meeting_id       uuid PRIMARY KEY,
    alliance_id      uuid        NOT NULL REFERENCES alliance (alliance_id),
    number           integer     NOT NULL CHECK (number >= 1),
    held_on          date        NOT NULL,
    title            text        NOT NULL,
    place            text        NOT NULL DEFAULT '',
    chair_unit_id    uuid        NOT NULL REFERENCES party (party_id),
    present_unit_ids uuid[]      NOT NULL,
    agenda           jsonb       NOT NULL,  -- a list of agenda items (text)
    minutes          text        NOT NULL DEFAULT '',
    recorded_by      text        NOT NULL,
    recorded_at      timestamptz NOT NULL,
    UNIQUE (alliance_id, number)
);

CREATE TABLE decision (
    decision_id              uuid PRIMARY KEY,
    meeting_id               uuid        NOT NULL REFERENCES meeting (meeting_id),
    alliance_id              uuid        NOT NULL REFERENCES alliance (alliance_id),
    number                   integer     NOT NULL CHECK (number >= 1),  -- within the meeting
    responsible_unit_id      uuid        NOT NULL REFERENCES party (party_id),
    beneficiary_community_id uuid        NOT NULL REFERENCES party (party_id),
    agreement_id             uuid        NOT NULL REFERENCES agreement (agreement_id),
    commitment_id            uuid        NOT NULL,
    item                     jsonb       NOT NULL,  -- the commitment as signed
    made_at                  timestamptz NOT NULL,
    UNIQUE (meeting_id, number)
);
CREATE INDEX decision_alliance ON decision (alliance_id, made_at);
CREATE INDEX decision_agreement ON decision (agreement_id);

-- An agreement of origin 'meeting' names its decision (and so its meeting).
ALTER TABLE agreement ADD COLUMN decision_id uuid;
ALTER TABLE agreement ADD COLUMN meeting_id uuid;
