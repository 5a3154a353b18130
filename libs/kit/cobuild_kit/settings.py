"""Service settings: read from the environment, one prefix per service (COBUILD_<SERVICE>_*)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from cobuild_kit.kafka import MAX_BATCH_BYTES, MAX_REQUEST_BYTES

DEFAULT_PORTS = {"agreements": 8101, "commitments": 8102, "points": 8103, "evaluation": 8104}


class ServiceSettings(BaseSettings):
    """What every service reads. A service subclasses it (see `service_config`) to add its own."""

    service: ClassVar[str] = "service"
    model_config = SettingsConfigDict(extra="ignore")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        # The service's name follows from its prefix: COBUILD_POINTS_ -> "points".
        super().__pydantic_init_subclass__(**kwargs)
        prefix = str(cls.model_config.get("env_prefix", ""))
        if prefix.startswith("COBUILD_"):
            cls.service = prefix.removeprefix("COBUILD_").rstrip("_").lower()

    host: str = "127.0.0.1"
    port: int = 0
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    database_pool_min: int = 2
    database_pool_max: int = 10
    # Behind pgbouncer in transaction mode the statement cache must be off.
    database_statement_cache_size: int = 100
    kafka_bootstrap: str = "127.0.0.1:9092"
    # Off for Tansu (no InitProducerId); on for real Kafka.
    kafka_idempotence: bool = False
    kafka_max_batch_bytes: int = MAX_BATCH_BYTES  # see cobuild_kit.kafka
    # The producer's max_request_size. Raise it (and the topics' max.message.bytes) only to
    # re-send parked rows that were refused as too large; see cobuild_kit.kafka's limits.
    kafka_max_request_bytes: int = MAX_REQUEST_BYTES
    # Tansu does not wake a waiting fetch: keep the long-poll short for low latency. Each
    # idle group fetches once per wait, so groups whose events are not awaited by a person
    # (ConsumerSpec.prompt=False) wait longer and cost the broker and the service less.
    consumer_fetch_max_wait_ms: int = 20
    consumer_relaxed_fetch_max_wait_ms: int = 100
    # At most one short batch per interval (consumer.BatchPace): a trickle then costs one
    # fetch and one transaction per interval, not per event. Off for prompt groups (it would
    # add up to the interval to the latency a person sees).
    consumer_batch_interval_ms: int = 0
    consumer_relaxed_batch_interval_ms: int = 100
    # Records per batch (one transaction). Under a backlog 500 cost a quarter less CPU per
    # event than 200 (bench/RESULTS.md); a trickle's batches hold a few records either way.
    consumer_max_records: int = 500
    # How soon after a batch its offsets are committed (0: after every batch); see offsets.py.
    consumer_commit_interval_ms: int = 50
    consumer_max_attempts: int = 3
    consumer_session_timeout_ms: int = 10_000
    # An event naming what its consumer does not know (a commitment, member, party) waits this
    # long of wall clock for the fact before it goes to the DLQ (cobuild_kit.pending); the
    # sweep retries and expires pending events every `pending_sweep_interval_s`.
    pending_grace_s: float = 3600.0
    pending_sweep_interval_s: float = 30.0
    outbox_batch_size: int = 500
    outbox_poll_interval_s: float = 1.0
    outbox_retention_hours: int = 24 * 7
    jwt_public_keys_file: Path | None = None
    jwt_issuer: str = "cobuild-dev"
    jwt_audience: str = "cobuild"
    jwt_max_lifetime_s: int = 24 * 3600  # the longest exp − iat a token may carry
    # The access service's public keys (`GET /.well-known/jwks.json`), beside or instead of
    # `jwt_public_keys_file` (cobuild_kit.jwks): refetched on an unknown kid, at most once per
    # `jwks_refetch_min_interval_s`, and in the background once older than `jwks_max_age_s`.
    jwks_url: str | None = None
    # The `iss` of tokens signed with those keys (jwt_issuer if unset).
    jwks_issuer: str | None = None
    jwks_max_age_s: float = 60.0
    jwks_refetch_min_interval_s: float = 5.0
    jwks_timeout_s: float = 3.0
    # How often each replica reloads the revoked grants its access consumer recorded
    # (cobuild_kit.revocations): a revoked grant's tokens are refused this long after the
    # event is consumed, at most.
    revocation_refresh_interval_s: float = 1.0
    data_dir: Path = Path("var/data")
    log_level: str = "INFO"
    # Freeze what startup built out of the cycle collector's reach (see cobuild_kit.heap).
    gc_freeze: bool = True
    # Allocations between young collections, Python's default. 50,000 cut the consumers'
    # collector time by half again, but each young collection then walked far more objects
    # in one pause, and the latency step's p99 rose past its target (cobuild_kit.heap).
    gc_young_threshold: int = 700
    max_body_bytes: int = 1_048_576
    # The request line and headers together (cobuild_kit.bounded_head): 431 past it.
    max_header_bytes: int = 65_536
    public_rate_limit_per_minute: int = 600
    # Kept answers to Idempotency-Keys are purged after this long (clients retry in minutes).
    idempotency_retention_hours: int = 24
    # The reverse proxies whose X-Forwarded-For is believed (uvicorn's forwarded_allow_ips:
    # comma-separated addresses, or "*"). Empty: none, so a client cannot pick its own
    # address to slip past a rate limit; behind the shipped ingress, name the ingress.
    trusted_proxies: str = ""
    clock: str = Field(default="system", validation_alias=AliasChoices("COBUILD_CLOCK", "clock"))


def service_config(service: str) -> SettingsConfigDict:
    """The settings config of one service: environment prefix COBUILD_<SERVICE>_.

    A service declares `class XSettings(ServiceSettings)` with
    `model_config = service_config("x")` and `port: int = DEFAULT_PORTS["x"]`.
    """
    return SettingsConfigDict(env_prefix=f"COBUILD_{service.upper()}_", extra="ignore")
