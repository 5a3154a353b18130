-- Revoked grants (cobuild_kit.revocations): each `grant.revoked` the service's `access`
-- consumer applied. Every replica reloads the ids recorded within the longest token life
-- about once a second and refuses tokens whose `gid` claim names one of them.
CREATE TABLE revoked_grants (
    grant_id    uuid        PRIMARY KEY,
    subject     text        NOT NULL,
    revoked_at  timestamptz NOT NULL,   -- the access service's time of the revocation
    event_id    uuid        NOT NULL,   -- the grant.revoked that recorded it
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revoked_grants_recorded_at ON revoked_grants (recorded_at);
