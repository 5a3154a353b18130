-- The agreements service: parties directory, needs and resources (with versions), match
-- suggestions, agreements with every negotiation round, signatures and commitments in force.

CREATE TABLE party (
    party_id             uuid PRIMARY KEY,
    kind                 text        NOT NULL CHECK (kind IN ('district', 'street', 'community', 'grid', 'unit')),
    name                 text        NOT NULL,
    parent_id            uuid REFERENCES party (party_id),
    unit_type            text,
    code                 text UNIQUE,
    paired_community_ids uuid[]      NOT NULL DEFAULT '{}',
    active               boolean     NOT NULL DEFAULT true,
    version              integer     NOT NULL,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
CREATE INDEX party_parent ON party (parent_id);

CREATE TABLE need (
    need_id       uuid PRIMARY KEY,
    community_id  uuid        NOT NULL REFERENCES party (party_id),
    version       integer     NOT NULL,
    status        text        NOT NULL CHECK (status IN ('published', 'withdrawn', 'claimed')),
    category      text        NOT NULL,
    kind          text        NOT NULL,
    title         text        NOT NULL,
    description   text        NOT NULL,
    quantity      integer     NOT NULL CHECK (quantity >= 1),
    quantity_unit text        NOT NULL,
    funds_fen     bigint      NOT NULL CHECK (funds_fen >= 0),
    wanted_by     date        NOT NULL,
    beneficiaries integer     NOT NULL CHECK (beneficiaries >= 0),
    visibility    text        NOT NULL,
    published_at  timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX need_community ON need (community_id, status);
CREATE INDEX need_match ON need (category, kind) WHERE status = 'published';

-- Every published version of a need, as published (a revision never rewrites history).
CREATE TABLE need_version (
    need_id    uuid        NOT NULL REFERENCES need (need_id),
    version    integer     NOT NULL,
    event      text        NOT NULL,  -- need.published | need.withdrawn | need.claimed
    snapshot   jsonb       NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (need_id, version, event)
);

CREATE TABLE resource (
    resource_id     uuid PRIMARY KEY,
    unit_id         uuid        NOT NULL REFERENCES party (party_id),
    version         integer     NOT NULL,
    status          text        NOT NULL CHECK (status IN ('offered', 'withdrawn')),
    category        text        NOT NULL,
    kind            text        NOT NULL,
    title           text        NOT NULL,
    description     text        NOT NULL,
    capacity        integer     NOT NULL CHECK (capacity >= 1),
    capacity_unit   text        NOT NULL,
    funds_fen       bigint      NOT NULL CHECK (funds_fen >= 0),
    available_from  date        NOT NULL,
    available_until date        NOT NULL CHECK (available_until >= available_from),
    community_ids   uuid[]      NOT NULL DEFAULT '{}',
    offered_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX resource_unit ON resource (unit_id, status);
CREATE INDEX resource_match ON resource (category, kind) WHERE status = 'offered';

CREATE TABLE resource_version (
    resource_id uuid        NOT NULL REFERENCES resource (resource_id),
    version     integer     NOT NULL,
    event       text        NOT NULL,
    snapshot    jsonb       NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (resource_id, version, event)
);

CREATE TABLE match_suggestion (
    need_id      uuid        NOT NULL REFERENCES need (need_id),
    resource_id  uuid        NOT NULL REFERENCES resource (resource_id),
    score        integer     NOT NULL CHECK (score BETWEEN 0 AND 100),
    reasons      text[]      NOT NULL,
    suggested_at timestamptz NOT NULL,
    PRIMARY KEY (need_id, resource_id)
);
CREATE INDEX match_by_resource ON match_suggestion (resource_id);

CREATE TABLE agreement (
    agreement_id   uuid PRIMARY KEY,
    community_id   uuid        NOT NULL REFERENCES party (party_id),
    unit_id        uuid        NOT NULL REFERENCES party (party_id),
    street_id      uuid,
    district_id    uuid,
    origin         text        NOT NULL CHECK (origin IN ('negotiated', 'claim')),
    state          text        NOT NULL CHECK (state IN ('negotiating', 'signed', 'amending', 'terminated')),
    version        integer     NOT NULL,  -- the latest draft
    proposed_by    uuid        NOT NULL,  -- the party that put the latest draft forward
    signed_version integer,               -- the version in force
    need_id        uuid REFERENCES need (need_id),
    created_at     timestamptz NOT NULL,
    signed_at      timestamptz,
    terminated_at  timestamptz,
    termination_reason text
);
CREATE INDEX agreement_community ON agreement (community_id);
CREATE INDEX agreement_unit ON agreement (unit_id);

-- Every round: the first proposal, each counter, each amendment draft.
CREATE TABLE proposal (
    agreement_id     uuid        NOT NULL REFERENCES agreement (agreement_id),
    version          integer     NOT NULL,
    round            text        NOT NULL CHECK (round IN ('proposal', 'counter', 'amendment', 'claim')),
    proposed_by      uuid        NOT NULL,
    proposed_by_actor text       NOT NULL,
    counters_version integer,
    term_start       date        NOT NULL,
    term_end         date        NOT NULL,
    items            jsonb       NOT NULL,
    reason           text,
    proposed_at      timestamptz NOT NULL,
    PRIMARY KEY (agreement_id, version)
);

CREATE TABLE signature (
    agreement_id uuid        NOT NULL,
    version      integer     NOT NULL,
    party_id     uuid        NOT NULL,
    signed_by    text        NOT NULL,
    signed_at    timestamptz NOT NULL,
    PRIMARY KEY (agreement_id, version, party_id),
    FOREIGN KEY (agreement_id, version) REFERENCES proposal (agreement_id, version)
);

-- The commitments of signed agreements; cancelled ones stay, marked.
CREATE TABLE commitment (
    commitment_id       uuid PRIMARY KEY,
    agreement_id        uuid        NOT NULL REFERENCES agreement (agreement_id),
    item                jsonb       NOT NULL,
    since_version       integer     NOT NULL,
    cancelled_in_version integer,
    cancelled_at        timestamptz
);
CREATE INDEX commitment_agreement ON commitment (agreement_id);
