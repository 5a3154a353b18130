-- The access service's own tables (the kit's are created before these).

-- Grants: who (subject) may act in which role for which party. Revoked grants stay, with who
-- revoked them and why; at most one live grant per (subject, role, party).
CREATE TABLE grants (
    grant_id      uuid PRIMARY KEY,
    subject       text        NOT NULL,
    role          text        NOT NULL,
    party_id      uuid        NOT NULL,
    granted_by    text        NOT NULL,
    granted_at    timestamptz NOT NULL,
    -- how it came: delegated | bootstrap | invitation | member_report | expert_directory
    origin        text        NOT NULL,
    invitation_id uuid,
    revoked_by    text,
    revoked_at    timestamptz,
    revoke_reason text
);
CREATE UNIQUE INDEX grants_live ON grants (subject, role, party_id) WHERE revoked_at IS NULL;
CREATE INDEX grants_subject ON grants (subject);
CREATE INDEX grants_party ON grants (party_id, granted_at);

-- The display name of each subject that holds or held a grant, as the provider last gave
-- it (personal data: the one thing kept of a person besides the subject id).
CREATE TABLE holders (
    subject      text PRIMARY KEY,
    display_name text,
    seen_at      timestamptz NOT NULL
);

-- Invitations: a single-use link (only its token's hash is kept) to a role for a party.
-- `email` is the invitee's address, kept only while the invitation is open.
CREATE TABLE invitations (
    invitation_id  uuid PRIMARY KEY,
    token_hash     bytea       NOT NULL UNIQUE,
    role           text        NOT NULL,
    party_id       uuid        NOT NULL,
    invited_by     text        NOT NULL,
    inviter_role   text        NOT NULL,
    inviter_party  uuid        NOT NULL,
    -- the grant the admin invited with (none for a development token): revoking it voids
    -- the invitations it made
    inviter_grant  uuid,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    email          text,
    -- none (no address) | sent | failed
    mail_state     text        NOT NULL DEFAULT 'none',
    accepted_at    timestamptz,
    accepted_by    text,
    grant_id       uuid,
    withdrawn_at   timestamptz,
    withdrawn_by   text,
    email_purged_at timestamptz
);
CREATE INDEX invitations_party ON invitations (party_id, created_at);
CREATE INDEX invitations_address_kept ON invitations (expires_at) WHERE email IS NOT NULL;

-- Members as the points service's events tell them (ids only), with the subject of the
-- person's account once known (member.reported's `subject`, or an accepted invitation).
CREATE TABLE members (
    member_id    uuid PRIMARY KEY,
    unit_id      uuid        NOT NULL,
    community_id uuid        NOT NULL,
    subject      text,
    active       boolean     NOT NULL DEFAULT true,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX members_subject ON members (subject) WHERE subject IS NOT NULL;

-- Experts as the evaluation service's directory tells them.
CREATE TABLE experts (
    expert_id  uuid PRIMARY KEY,
    subject    text,
    active     boolean     NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL
);

-- Signing keys of Cobuild tokens. Each replica loads them; a key is published from its
-- creation, signs from `activates_at` until the next key starts, and is deleted once no
-- token it signed can still be alive (cobuild_access.domain.keys).
CREATE TABLE signing_keys (
    kid          text PRIMARY KEY,
    private_pem  bytea       NOT NULL,
    public_raw   bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    activates_at timestamptz NOT NULL
);

-- One mark per provider session and role taken in it, so a sign-in is audited once for each
-- party it acts for (its admins read it there), however many exchanges follow.
CREATE TABLE sign_ins (
    subject text        NOT NULL,
    session text        NOT NULL,
    acting  text        NOT NULL,
    at      timestamptz NOT NULL,
    PRIMARY KEY (subject, session, acting)
);
CREATE INDEX sign_ins_at ON sign_ins (at);

-- The audit: append-only. A trigger refuses every UPDATE and DELETE, so neither a bug nor a
-- hand at the console of this service's own login role rewrites the record.
CREATE TABLE audit (
    audit_id      bigserial PRIMARY KEY,
    at            timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    kind          text        NOT NULL,
    outcome       text        NOT NULL,
    actor         text        NOT NULL,
    actor_role    text,
    actor_party   uuid,
    subject       text,
    role          text,
    party_id      uuid,
    grant_id      uuid,
    invitation_id uuid,
    detail        text        NOT NULL DEFAULT '',
    extra         jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_party ON audit (party_id, audit_id);
CREATE INDEX audit_actor ON audit (actor, audit_id);
CREATE INDEX audit_subject ON audit (subject, audit_id);

CREATE FUNCTION audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit is append-only: % refused', TG_OP;
END;
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_is_append_only();
