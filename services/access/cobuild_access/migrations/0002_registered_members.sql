-- A member is known from their registration (`member.registered`), before any report (报到)
-- says their community: the community stays empty until then.
ALTER TABLE members ALTER COLUMN community_id DROP NOT NULL;
