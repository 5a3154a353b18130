-- What each member-year's kept awards add up to, by the parts the caps count: the business
-- day, the source (activity, commitment or wish) and the category. An award used to sum its
-- member's whole year of entries to find its room under the caps, so its cost grew with the
-- year (20 entries a member at 10^6 fulfilments in the benchmark, hundreds for an active
-- member by December). Now it reads three rows.
--
-- A derived figure, like points_chain.balance, kept in the transaction that appends: the
-- trigger below follows every insert into the journal, whichever code path makes it. An
-- award adds its points to its three parts; a reversal takes the reversed award's points
-- back from the award's parts (the caps count the awards that were not reversed).
CREATE TABLE points_usage (
    member_id uuid           NOT NULL,
    year      integer        NOT NULL,
    part      text           NOT NULL CHECK (part IN ('day', 'source', 'category')),
    key       text           NOT NULL,  -- the day (YYYY-MM-DD), the source id or the category
    points    numeric(12, 2) NOT NULL,
    PRIMARY KEY (member_id, year, part, key)
) WITH (fillfactor = 80);  -- room for the in-place (HOT) update each award makes

CREATE FUNCTION points_usage_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO points_usage (member_id, year, part, key, points)
    SELECT k.member_id, k.year, p.part, p.key, sum(k.points)
    FROM (
        SELECT member_id, year, business_date, source_id, category, points
        FROM added WHERE kind = 'award'
        UNION ALL
        SELECT a.member_id, a.year, a.business_date, a.source_id, a.category, -a.points
        FROM added r JOIN points_entry a ON a.entry_id = r.reverses_entry_id
        WHERE r.kind = 'reversal' AND a.kind = 'award'
    ) k
    CROSS JOIN LATERAL (VALUES
        ('day', to_char(k.business_date, 'YYYY-MM-DD')),
        ('source', k.source_id::text),
        ('category', k.category)
    ) p(part, key)
    WHERE p.key IS NOT NULL
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4  -- one lock order for every writer
    ON CONFLICT (member_id, year, part, key)
        DO UPDATE SET points = points_usage.points + EXCLUDED.points;
    RETURN NULL;
END $$;

CREATE TRIGGER points_usage_follow AFTER INSERT ON points_entry
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION points_usage_follow();

-- The same figures counted from the whole journal: the backfill below, and what the tests
-- hold the trigger's running sums against (a part whose awards were all reversed keeps a
-- row at 0 there, and has none here).
CREATE VIEW points_usage_recount AS
SELECT a.member_id, a.year, p.part, p.key, sum(a.points) AS points
FROM points_entry a
CROSS JOIN LATERAL (VALUES
    ('day', to_char(a.business_date, 'YYYY-MM-DD')),
    ('source', a.source_id::text),
    ('category', a.category)
) p(part, key)
WHERE a.kind = 'award' AND p.key IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM points_entry r WHERE r.reverses_entry_id = a.entry_id)
GROUP BY 1, 2, 3, 4;

INSERT INTO points_usage (member_id, year, part, key, points)
SELECT * FROM points_usage_recount;
