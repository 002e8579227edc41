"""Settings shared by every service, read from ``SHULIAN_*`` environment variables."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class PartnerGrant(BaseModel):
    """What one partner may read (``shulian_common.feed`` has the model): these event types,
    events in these divisions (a city grants its counties), naming these industries; a missing
    field grants that whole dimension."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    types: frozenset[str] | None = None
    cities: frozenset[str] | None = None
    industries: frozenset[str] | None = None

    @field_validator("cities")
    @classmethod
    def _known_divisions(cls, value: frozenset[str] | None) -> frozenset[str] | None:
        from shulian_common.reference import is_division

        unknown = sorted(code for code in value or () if not is_division(code))
        if unknown:
            raise ValueError(f"unknown GB/T 2260 divisions in a partner grant: {unknown}")
        return value


DEV_JWT_SECRET = "shulian-dev-secret-change-me-0123456789"  # refused outside dev/test
_NODE_ID = re.compile(r"^51\d{4}$")


def _codes(value: str) -> list[str]:
    return [code.strip() for code in value.split(",") if code.strip()]


class Environment(StrEnum):
    """Where a process runs; secrets at their defaults are refused outside ``dev``/``test``."""

    DEV = "dev"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """The settings every service reads, with the same names everywhere."""

    model_config = SettingsConfigDict(env_prefix="SHULIAN_", extra="ignore")

    env: Environment = Environment.DEV
    node_id: str = Field(default="510000", description="GB/T 2260 code of this node")
    service: str = Field(default="common", description="service name, set by each service")
    data_dir: Path = Path("./var")
    database_url: str | None = None
    bus_url: str | None = None
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_issuer: str = "shulian"
    jwt_ttl_seconds: int = 8 * 3600
    host: str = "127.0.0.1"
    port: int = 8000
    # Processes ``shulian serve`` runs on the one port (see ``app.workers``): the first runs the
    # outbox relay, consumers, webhooks and retention too; the others serve HTTP only.
    workers: int = Field(default=1, ge=1, le=64)
    # Set by ``shulian serve`` on its extra workers: no background work in this process.
    http_only: bool = False
    log_level: str = "INFO"
    log_json: bool = True
    # Bus tuning (Kafka): idempotence is off for brokers without InitProducerId (Tansu).
    kafka_enable_idempotence: bool = True
    kafka_acks: str = "all"
    kafka_linger_ms: int = 5
    # How long a consumer's fetch may wait at the broker for records to arrive. Brokers that
    # answer a fetch only at this deadline (Tansu) add it to every record's latency; low keeps a
    # consumer from sitting on a fetch, at the cost of more (cheap) fetches while idle.
    kafka_fetch_max_wait_ms: int = Field(default=20, ge=1, le=10_000)
    kafka_replication_factor: int = 1
    # How clients authenticate to the brokers: PLAINTEXT (compose, tests), or SASL_SSL with a
    # SCRAM user per node and service (Kubernetes: Strimzi KafkaUsers, whose ACLs then hold).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = Field(
        default=None, description="PEM file of the brokers' CA (system CAs when unset)"
    )
    bus_partitions: int = 3
    # The local log (embedded default): members wait for publishers' wake-ups (Unix datagram
    # sockets in ``<data dir>/.wake/``, see ``shulian_common.wake``), polling every
    # ``bus_local_poll_interval`` seconds as a fallback; off, they poll every 1-25 ms.
    bus_local_wake: bool = True
    bus_local_poll_interval: float = Field(default=1.0, gt=0)
    # Outbox relay and consumers.
    relay_batch_size: int = 500
    # Commits wake the relay (in-process, and LISTEN/NOTIFY on PostgreSQL); polling is the fallback.
    relay_poll_interval: float = 1.0
    relay_retry_interval: float = 0.05  # first back-off after a failure, doubling up to the max
    relay_max_backoff: float = 5.0
    # Retention of published outbox rows, inbox rows and idempotency keys (parked rows are kept).
    retention_days: float = Field(default=7.0, gt=0)
    retention_batch_size: int = Field(default=500, gt=0)
    retention_interval: float = Field(default=3600.0, gt=0, description="seconds between purges")
    consumer_max_retries: int = 3
    consumer_retry_backoff: float = 0.2
    # Records a consumer applies per transaction, at most: a batch is only what one poll already
    # fetched, so a quiet stream still goes one record per transaction with no added wait, and a
    # backlog or a rebuild goes up to this many at once; a failing batch falls back to one by one.
    consumer_batch_size: int = Field(default=100, ge=1, le=1000)
    # None (the default): on when an exporter is configured (``OTEL_*``, see ``telemetry``), so a
    # service exporting nothing installs no instrumentation at all and pays nothing per request;
    # true: always (spans reach processors added in code, e.g. tests); false: never.
    telemetry_enabled: bool | None = None
    # Start-up's heap frozen out of the garbage collector's sight (see ``app``): no full
    # collection walks it during requests.
    gc_freeze: bool = True
    # Cursor pages of every list route: the size when none is asked for, and the cap.
    page_limit_default: int = Field(default=20, ge=1, le=100)
    page_limit_max: int = Field(default=100, ge=1, le=1000)
    # Readiness (/readyz): only the database decides it; the rest is reported, with warnings.
    ready_database_timeout_s: float = Field(
        default=2.0, gt=0, description="seconds the database check may take (below the probe's)"
    )
    ready_bus_check_interval_s: float = Field(
        default=5.0, gt=0, description="seconds between background pings of the bus"
    )
    ready_bus_probe_timeout_s: float = Field(
        default=2.0, gt=0, description="seconds one bus ping may take before the bus is down"
    )
    outbox_sample_interval_s: float = Field(
        default=10.0, gt=0, description="seconds between outbox samples for the metrics"
    )
    ready_outbox_age_warn_s: float = Field(
        default=60.0, ge=0, description="warn when the oldest unsent outbox row is older"
    )
    ready_outbox_backlog_warn: int = Field(
        default=10_000, ge=0, description="warn when more outbox rows than this are unsent"
    )
    ready_consumer_lag_warn: int = Field(
        default=10_000, ge=0, description="warn when consumers are this many records behind"
    )
    demo: bool = Field(default=False, description="seed deterministic demo data at start-up")
    # The nodes of the demo network, comma-separated (``shulian up`` sets SHULIAN_DEMO_NODES to the
    # nodes it starts): each seeds only what no more specific node of them governs. Empty: this
    # node alone, its whole jurisdiction.
    demo_nodes: str = Field(
        default="", description="GB/T 2260 codes of the demo network's nodes, comma-separated"
    )
    # Partner webhooks: attempt n waits base * factor**(n-1), ± jitter; the defaults retry for
    # about a day (10 s, 30 s, 90 s, … 18 h: 27 h over 10 attempts).
    webhook_timeout_s: float = Field(default=10.0, gt=0, description="seconds per attempt")
    webhook_retry_base_s: float = Field(default=10.0, gt=0)
    webhook_retry_factor: float = Field(default=3.0, ge=1)
    webhook_max_attempts: int = Field(default=10, ge=1)
    webhook_jitter: float = Field(default=0.2, ge=0, lt=1, description="± share of each wait")
    webhook_secret_overlap_s: float = Field(
        default=86_400.0, ge=0, description="seconds a rotated-out secret still signs"
    )
    webhook_max_endpoints: int = Field(
        default=50, ge=1, description="endpoints one dispatcher delivers to at once"
    )
    webhook_endpoint_concurrency: int = Field(
        default=4, ge=1, description="requests in flight to one endpoint at once"
    )
    webhook_poll_interval_s: float = Field(default=1.0, gt=0)
    public_url: str | None = Field(
        default=None, description="this service's base URL as partners reach it (thin webhooks)"
    )
    partner_grants: dict[str, PartnerGrant] | None = Field(
        default=None,
        description="what each partner (token subject) may read, as JSON; unset: partners read "
        "everything in dev/test and nothing elsewhere",
        examples=[{"partner:chengdu-online-park": {"cities": ["510100"]}}],
    )

    @field_validator("node_id")
    @classmethod
    def _node_is_sichuan_division(cls, value: str) -> str:
        if not _NODE_ID.match(value):
            raise ValueError("node_id must be a GB/T 2260 code in Sichuan (51xxxx)")
        from shulian_common.reference import is_division

        if not is_division(value):
            raise ValueError(f"node_id {value} is not a known GB/T 2260 division")
        return value

    @field_validator("demo_nodes")
    @classmethod
    def _demo_nodes_are_divisions(cls, value: str) -> str:
        from shulian_common.reference import is_division

        for code in _codes(value):
            if not is_division(code):
                raise ValueError(f"unknown division code {code!r} in demo_nodes")
        return value

    @property
    def demo_network(self) -> list[str]:
        """The node codes of ``demo_nodes``."""
        return _codes(self.demo_nodes)

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Self:
        if self.env not in (Environment.DEV, Environment.TEST) and (
            self.jwt_secret.get_secret_value() == DEV_JWT_SECRET
        ):
            raise ValueError("SHULIAN_JWT_SECRET must be set outside dev/test")
        return self

    @field_validator(
        "kafka_sasl_username", "kafka_sasl_password", "kafka_ssl_cafile", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> Self:
        if self.kafka_security_protocol.startswith("SASL_") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"SHULIAN_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "SHULIAN_KAFKA_SASL_USERNAME and SHULIAN_KAFKA_SASL_PASSWORD"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to one SQLite file per node and service."""
        if self.database_url:
            return self.database_url
        path = (self.data_dir / self.node_id / f"{self.service}.db").resolve()
        return f"sqlite+aiosqlite:///{path}"

    @property
    def resolved_bus_url(self) -> str:
        """The bus URL, defaulting to the embedded local log shared by all nodes."""
        if self.bus_url:
            return self.bus_url
        return f"local://{(self.data_dir / 'bus.db').resolve()}"

    @property
    def source(self) -> str:
        """The CloudEvents ``source`` of this node's service."""
        return f"/nodes/{self.node_id}/{self.service}"
