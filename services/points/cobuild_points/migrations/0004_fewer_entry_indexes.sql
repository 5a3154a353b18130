-- Two index entries that every award wrote and no reader used.
--
-- points_entry_day (member, business day) served the caps' old read of a member's year;
-- since 0003 the caps read points_usage, and nothing looks entries up by day.
DROP INDEX points_entry_day;

-- A reversal names the award it reverses, and an award is reversed at most once. The
-- UNIQUE constraint held that, but its index also took one entry (a NULL) for every award,
-- which never names one. A partial unique index holds the same rule and keeps the lookup
-- `WHERE reverses_entry_id = $1` on an index, with entries for the reversals alone.
-- (Built without CONCURRENTLY: migrations run in a transaction, and the reversals are few.)
CREATE UNIQUE INDEX points_entry_reversal ON points_entry (reverses_entry_id)
    WHERE reverses_entry_id IS NOT NULL;
ALTER TABLE points_entry DROP CONSTRAINT points_entry_reverses_entry_id_key;
