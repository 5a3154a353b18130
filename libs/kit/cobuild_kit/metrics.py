"""Prometheus metrics every service exposes on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HANDLED = Counter("cobuild_events_handled_total", "Events applied", ["consumer", "event_type"])
DUPLICATES = Counter(
    "cobuild_events_duplicate_total", "Redeliveries absorbed by the inbox", ["consumer"]
)
FAILED = Counter(
    "cobuild_events_failed_total", "Handler failures (each attempt)", ["consumer", "event_type"]
)
DEAD_LETTERED = Counter(
    "cobuild_events_dead_lettered_total", "Events sent to a DLQ", ["consumer", "topic"]
)
DEAD_LETTERS_UNSENT = Counter(
    "cobuild_dead_letters_unsent",
    "Batches rewound because a dead letter could not be sent (the DLQ unreachable)",
    ["consumer"],
)
OUTBOX_BACKLOG = Gauge("cobuild_outbox_backlog", "Outbox rows not yet published")
OUTBOX_PUBLISHED = Counter("cobuild_outbox_published_total", "Outbox rows published")
OUTBOX_PARKED = Gauge(
    "cobuild_outbox_parked_rows",
    "Outbox rows parked (unsendable, or held behind one of their key) until a resend",
)
OUTBOX_PARKED_EVENTS = Counter(
    "cobuild_outbox_parked_events", "Outbox rows the relay parked (each time it parked one)"
)
CONSUMER_LAG = Gauge(
    "cobuild_consumer_lag", "Messages not yet committed by a group", ["group", "topic"]
)
HTTP_REQUESTS = Counter(
    "cobuild_http_requests_total", "HTTP requests", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram("cobuild_http_request_seconds", "HTTP latency", ["method", "route"])
# PostgreSQL's side of a unit of work. A COMMIT waits for the WAL flush, so its time is the
# disk's fsync latency; a wait for a pooled connection is the pool (or those commits) saturated.
_DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
DB_COMMIT = Histogram(
    "cobuild_db_commit_seconds", "A unit of work's COMMIT (the WAL flush)", buckets=_DB_BUCKETS
)
DB_POOL_WAIT = Histogram(
    "cobuild_db_pool_wait_seconds", "Waiting for a pooled connection", buckets=_DB_BUCKETS
)
GC_PAUSE = Counter("cobuild_gc_pause_seconds", "Time in Python's cycle collector", ["generation"])
GC_FROZEN = Gauge("cobuild_gc_frozen_objects", "Objects startup left out of the collector's reach")
# Pending events (cobuild_kit.pending): kept until the fact they name arrives, or the grace ends.
PENDING_STORED = Counter(
    "cobuild_events_pending_stored",
    "Events kept pending: naming what the consumer does not know, or behind one of their key",
    ["consumer", "event_type"],
)
PENDING_APPLIED = Counter(
    "cobuild_events_pending_applied",
    "Pending events applied once their fact arrived",
    ["consumer", "event_type"],
)
PENDING_EXPIRED = Counter(
    "cobuild_events_pending_expired",
    "Pending events sent to the DLQ: the fact they awaited never came (the grace passed)",
    ["consumer", "topic"],
)
PENDING = Gauge("cobuild_events_pending", "Events pending now (all groups of the service)")
