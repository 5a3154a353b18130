-- The working calendar's published years (cobuild_kit.working_calendar): when the State Council
-- publishes next year's holidays and adjusted working days, an admin publishes them here, before
-- the holiday package knows them. A year's publication is a new version; earlier versions are
-- kept (who, when, from which notice), the newest wins, and it wins over the package for that
-- year.
CREATE TABLE working_calendar_years (
    year         integer     NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    version      integer     NOT NULL CHECK (version >= 1),
    days         jsonb       NOT NULL,  -- [{"day": "2027-01-01", "kind": "holiday", "name": ...}]
    source       text        NOT NULL,  -- where the admin took it from (the notice's number)
    published_by text        NOT NULL,  -- the admin's token subject
    published_at timestamptz NOT NULL,
    PRIMARY KEY (year, version)
);
