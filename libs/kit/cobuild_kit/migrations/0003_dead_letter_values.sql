-- A dead letter too large for the DLQ topic goes there truncated (cobuild_kit.consumer,
-- `dlq.truncated`); its whole value is kept here for an operator. `original_size` is the
-- original value's length for every dead letter.
ALTER TABLE dead_letters ADD COLUMN original_size integer;
ALTER TABLE dead_letters ADD COLUMN original_value bytea;
