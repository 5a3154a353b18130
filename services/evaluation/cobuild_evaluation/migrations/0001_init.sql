-- Evaluation service schema. Names of members never appear here: member ids only.

-- Agreement-level facts from agreement.signed (parties and term only, DESIGN §7).
CREATE TABLE agreements (
    agreement_id uuid PRIMARY KEY,
    community_id uuid NOT NULL,
    unit_id      uuid NOT NULL,
    street_id    uuid,
    district_id  uuid,
    term_start   date NOT NULL,
    term_end     date NOT NULL,
    origin       text NOT NULL,
    version      integer NOT NULL,
    signed_on    date NOT NULL,
    signed_at    timestamptz NOT NULL
);
CREATE INDEX agreements_community ON agreements (community_id);
CREATE INDEX agreements_unit ON agreements (unit_id);

-- The fulfilment journal: one entry per fact, append-only, unique on the causing event.
CREATE TABLE ledger_journal (
    id            bigserial PRIMARY KEY,
    event_id      uuid NOT NULL UNIQUE,
    commitment_id uuid NOT NULL,
    fact          text NOT NULL CHECK (fact IN ('opened', 'fulfilled', 'overdue', 'cancelled')),
    business_day  date NOT NULL,
    data          jsonb NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_journal_commitment ON ledger_journal (commitment_id, id);

-- Each commitment's current ledger state (derived from the journal; rebuilt by `rebuild`).
CREATE TABLE ledger_commitments (
    commitment_id        uuid PRIMARY KEY,
    agreement_id         uuid NOT NULL,
    community_id         uuid NOT NULL,
    unit_id              uuid NOT NULL,
    beneficiary_party_id uuid NOT NULL,
    deadline             date NOT NULL,
    committed_fen        bigint NOT NULL,
    opened_on            date NOT NULL,
    fulfilled_on         date,
    credited_fen         bigint NOT NULL DEFAULT 0,
    on_time              boolean NOT NULL DEFAULT false,
    cancelled_on         date,
    flagged_on           date
);
CREATE INDEX ledger_commitments_agreement ON ledger_commitments (agreement_id);

-- Daily deltas per scope: as-of D is SUM(... WHERE day <= D) over the primary key.
-- Kept scopes: commitment, agreement, unit, community, all. Streets and districts sum their
-- communities at query time, so a hierarchy learnt late never leaves stale aggregates.
CREATE TABLE ledger_daily (
    scope_kind      text   NOT NULL,
    scope_id        uuid   NOT NULL,
    day             date   NOT NULL,
    signed          bigint NOT NULL DEFAULT 0,
    signed_fen      bigint NOT NULL DEFAULT 0,
    cancelled       bigint NOT NULL DEFAULT 0,
    cancelled_fen   bigint NOT NULL DEFAULT 0,
    fulfilled       bigint NOT NULL DEFAULT 0,
    fulfilled_fen   bigint NOT NULL DEFAULT 0,
    due             bigint NOT NULL DEFAULT 0,
    due_fen         bigint NOT NULL DEFAULT 0,
    on_time         bigint NOT NULL DEFAULT 0,
    on_time_fen     bigint NOT NULL DEFAULT 0,
    overdue         bigint NOT NULL DEFAULT 0,
    overdue_fen     bigint NOT NULL DEFAULT 0,
    flagged_overdue bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (scope_kind, scope_id, day)
);

-- Members (ids only) and their yearly points totals, from the points service's events.
CREATE TABLE members (
    member_id    uuid PRIMARY KEY,
    unit_id      uuid NOT NULL,
    community_id uuid NOT NULL,
    reported_on  date NOT NULL,
    left_on      date
);
CREATE INDEX members_community ON members (community_id);
CREATE INDEX members_unit ON members (unit_id);

CREATE TABLE points_entries (
    entry_id     uuid PRIMARY KEY,
    member_id    uuid NOT NULL,
    year         integer NOT NULL,
    points       numeric(14, 2) NOT NULL,  -- negative for a reversal
    community_id uuid NOT NULL,
    unit_id      uuid NOT NULL,
    business_day date NOT NULL
);

CREATE TABLE member_points (
    member_id    uuid NOT NULL,
    year         integer NOT NULL,
    total        numeric(14, 2) NOT NULL DEFAULT 0,
    community_id uuid NOT NULL,
    unit_id      uuid NOT NULL,
    PRIMARY KEY (member_id, year)
);
CREATE INDEX member_points_year ON member_points (year);

-- Experts and their assignments (the directory belongs to evaluation, DESIGN §7).
CREATE TABLE experts (
    expert_id  uuid PRIMARY KEY,
    name       text NOT NULL,
    field      text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);

CREATE TABLE expert_assignments (
    assignment_id uuid PRIMARY KEY,
    expert_id     uuid NOT NULL REFERENCES experts,
    subject_kind  text NOT NULL CHECK (subject_kind IN ('commitment', 'agreement')),
    subject_id    uuid NOT NULL,
    criteria      text[] NOT NULL,
    assigned_by   text NOT NULL,
    assigned_at   timestamptz NOT NULL,
    evaluated_at  timestamptz,
    UNIQUE (expert_id, subject_kind, subject_id)
);

-- Resident one-time codes: only a hash is stored; single use via used_at.
CREATE TABLE resident_codes (
    code_hash     text PRIMARY KEY,
    commitment_id uuid NOT NULL,
    issued_by     text NOT NULL,
    issued_at     timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);
CREATE INDEX resident_codes_commitment ON resident_codes (commitment_id);

-- Every evaluation (residents, experts, communities), and aggregates kept per bucket.
CREATE TABLE evaluations (
    evaluation_id  uuid PRIMARY KEY,
    subject_kind   text NOT NULL,
    subject_id     uuid NOT NULL,
    evaluator_kind text NOT NULL,
    evaluator      text,            -- an expert's or admin's subject; null for residents
    rating         integer,
    score          numeric(5, 2),
    criteria       jsonb NOT NULL DEFAULT '{}',
    comment        text NOT NULL DEFAULT '',
    year           integer NOT NULL,
    business_day   date NOT NULL,
    submitted_at   timestamptz NOT NULL
);
CREATE INDEX evaluations_subject ON evaluations (subject_kind, subject_id);
-- A community rates each member once a year.
CREATE UNIQUE INDEX evaluations_member_year ON evaluations (subject_id, year, evaluator)
    WHERE subject_kind = 'member' AND evaluator_kind = 'community';

CREATE TABLE evaluation_buckets (
    subject_kind   text NOT NULL,
    subject_id     uuid NOT NULL,
    evaluator_kind text NOT NULL,
    bucket         text NOT NULL,
    n              bigint NOT NULL,
    total          numeric(14, 2) NOT NULL,
    PRIMARY KEY (subject_kind, subject_id, evaluator_kind, bucket)
);

-- Year-end assessments: published runs are kept (a re-publication supersedes, audited).
CREATE TABLE assessments (
    assessment_id   uuid PRIMARY KEY,
    district_id     uuid NOT NULL,
    year            integer NOT NULL,
    policy_version  text NOT NULL,
    digest          text NOT NULL,
    totals          jsonb NOT NULL,
    supersedes      uuid REFERENCES assessments,
    reason          text,
    published_by    text NOT NULL,
    published_at    timestamptz NOT NULL,
    current         boolean NOT NULL DEFAULT true
);
CREATE UNIQUE INDEX assessments_current ON assessments (district_id, year) WHERE current;
CREATE UNIQUE INDEX assessments_policy ON assessments (district_id, year, policy_version);

CREATE TABLE assessment_results (
    assessment_id  uuid NOT NULL REFERENCES assessments,
    subject_kind   text NOT NULL CHECK (subject_kind IN ('member', 'unit')),
    subject_id     uuid NOT NULL,
    community_id   uuid,
    street_id      uuid,
    unit_id        uuid,
    score          numeric(5, 2) NOT NULL,
    grade          text NOT NULL,
    components     jsonb NOT NULL,
    rank_community integer,
    rank_street    integer,
    rank_district  integer NOT NULL,
    PRIMARY KEY (assessment_id, subject_kind, subject_id)
);
