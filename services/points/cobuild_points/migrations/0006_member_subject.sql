-- The identity-provider subject of the person who asked to report as this member while
-- signed in as themself (a `person` token): it links the sign-in to the member, and
-- `member.reported` carries it so the access service can grant the member role. One sign-in
-- is one member.
ALTER TABLE member ADD COLUMN subject text;
CREATE UNIQUE INDEX member_subject ON member (subject) WHERE subject IS NOT NULL;
