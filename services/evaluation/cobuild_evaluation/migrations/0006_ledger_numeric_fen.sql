-- Money sums that cannot overflow (hardening issue, High 4; docs/RELIABILITY.md, "Hardening:
-- numeric bounds"). Every commitment adds its fen to five daily rows, one of them the day's
-- system-wide row ('all'), and an as-of figure sums a scope's days. One amount is at most
-- MAX_FEN = 10^10 fen (cobuild_contracts.base), so a bigint day row held 9.2*10^8 amounts at
-- the cap: far beyond any real day, but a row every commitment of the day shares must not be
-- able to fail them all. The money columns become numeric: a sum of any number of bounded
-- amounts fits (38 digits: 10^28 commitments at the cap). The counts stay bigint (one per
-- commitment and fact: 9.2*10^18 facts is not a volume). A batch still sums its own deltas as
-- bigint (ledger_total(bigint), at most a batch of amounts at the cap) before adding them here.
ALTER TABLE ledger_daily
    ALTER COLUMN signed_fen    TYPE numeric(38, 0),
    ALTER COLUMN cancelled_fen TYPE numeric(38, 0),
    ALTER COLUMN fulfilled_fen TYPE numeric(38, 0),
    ALTER COLUMN due_fen       TYPE numeric(38, 0),
    ALTER COLUMN on_time_fen   TYPE numeric(38, 0),
    ALTER COLUMN overdue_fen   TYPE numeric(38, 0);

-- The rebuild's roll-up sums the daily rows themselves: the same name for the numeric columns.
CREATE AGGREGATE ledger_total(numeric) (SFUNC = numeric_add, STYPE = numeric);
