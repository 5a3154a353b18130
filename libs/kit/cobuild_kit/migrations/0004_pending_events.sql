-- Pending events (cobuild_kit.pending): an event naming a party, member or commitment its
-- consumer does not know yet waits here, not applied and not in the inbox, until the fact
-- arrives (the handler that records it calls `ctx.known(kind, id)`) or `pending_grace_s` of
-- wall clock passes; then it goes to the DLQ (`dlq.reason=awaited-fact-never-came`). A later
-- event of the same topic and key waits behind it, awaiting the same fact, so the key's order
-- holds. The offset moves on: the partition is never blocked.
CREATE TABLE pending_events (
    consumer      text        NOT NULL,
    event_id      uuid        NOT NULL,
    event_type    text        NOT NULL,
    topic         text        NOT NULL,
    partition     integer     NOT NULL,
    "offset"      bigint      NOT NULL,
    key           text,
    envelope      bytea       NOT NULL,  -- the record's value as received
    headers       jsonb       NOT NULL DEFAULT '{}',
    awaiting_kind text        NOT NULL,
    awaiting_id   text        NOT NULL,
    reason        text        NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    tries         integer     NOT NULL DEFAULT 0,
    retry_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX pending_events_key ON pending_events (key, consumer, topic);
CREATE INDEX pending_events_awaiting ON pending_events (awaiting_kind, awaiting_id);
CREATE INDEX pending_events_order ON pending_events (consumer, topic, partition, "offset");
