-- Parked outbox rows: ones the relay can never send (the producer refused them as too large),
-- and the later rows of the same topic and key, held behind them so per-key order holds.
-- A parked row is unpublished and out of the relay's claim until `cobuild outbox resend`
-- (cobuild_kit.outbox.resend_parked) clears parked_at after a fix.
ALTER TABLE outbox ADD COLUMN parked_at timestamptz;
ALTER TABLE outbox ADD COLUMN park_reason text;
CREATE INDEX outbox_parked ON outbox (topic, key, id) WHERE parked_at IS NOT NULL;
