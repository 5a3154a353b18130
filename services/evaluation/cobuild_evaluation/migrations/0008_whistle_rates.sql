-- Whistles (吹哨报到) as the escalations service's events tell them: ids, places, limits and
-- dated steps, from which the response, completion and satisfaction rates are counted as of
-- any date (usecases.whistle_rates). Titles, descriptions and reasons stay in escalations.
CREATE TABLE whistle_facts (
    whistle_id     uuid PRIMARY KEY,
    community_id   uuid,
    street_id      uuid        NOT NULL,
    district_id    uuid        NOT NULL,
    category       text        NOT NULL,
    urgency        text        NOT NULL,
    raised_at      timestamptz NOT NULL,
    raised_on      date        NOT NULL,  -- Asia/Shanghai business dates, as every as-of
    respond_by     timestamptz,
    respond_due_on date,
    resolve_by     timestamptz,
    resolve_due_on date
);
CREATE INDEX whistle_facts_district ON whistle_facts (district_id, raised_on);
CREATE INDEX whistle_facts_street ON whistle_facts (street_id, raised_on);
CREATE INDEX whistle_facts_community ON whistle_facts (community_id, raised_on);

-- The journal: one row per event that moves a rate, in arrival order (one whistle's events
-- arrive in order: they share a key).
CREATE TABLE whistle_steps (
    seq          bigserial PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    whistle_id   uuid        NOT NULL REFERENCES whistle_facts,
    kind         text        NOT NULL
                 CHECK (kind IN ('routed', 'handed_on', 'responded', 'resolved', 'reopened',
                                 'rated')),
    at           timestamptz NOT NULL,
    day          date        NOT NULL,
    party_id     uuid,     -- the receiver from this step on (routed, handed_on)
    within_limit boolean,  -- responded, resolved
    satisfied    boolean   -- rated
);
CREATE INDEX whistle_steps_whistle ON whistle_steps (whistle_id, kind, seq);
CREATE INDEX whistle_steps_receiver ON whistle_steps (party_id) WHERE party_id IS NOT NULL;
