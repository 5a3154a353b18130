"""The measured steps of `python -m bench.run`, one module each, named by what they measure.

Each takes the run's shared state (`bench.suite.Suite`), adds its rows to the report and its
lines to its section; `bench.run` runs them in order:

- references: raw PostgreSQL, the disk's flush, raw aiokafka, the raw pipeline and the
  fulfilment path's floor, measured first (every other figure is held against them);
- pipeline_signed (`make bench`, 10^4 and 10^5) and pipeline_direct (`make bench-large`,
  10^6): events fed to the broker, throughput until the ledger and points show them
  (the shared phase machinery in pipeline);
- http_commands: claim and done over HTTP, which also prepares the latency step's pool;
- latency: confirms at a steady rate, accepted → ledger;
- ledger_queries: `GET /ledger` per scope, against the same sum in raw SQL;
- assessment: the year-end preview and publish;
- rebuild: the ledger topped up to 10^6 commitments, rebuilt, and queried again;
- replay: the largest outbox replayed into an empty broker;
- resources: the services' RSS, at rest and at their peak.
"""
