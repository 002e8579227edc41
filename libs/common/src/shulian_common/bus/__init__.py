"""The event bus: Kafka in production, a durable local log on the embedded default."""

from __future__ import annotations

from shulian_common.bus.base import (
    Bus,
    BusError,
    MissingTopicError,
    OutgoingMessage,
    Publisher,
    Record,
    Subscriber,
    TopicPartition,
    dlt_topic,
    partition_for,
)
from shulian_common.settings import Settings

__all__ = [
    "Bus",
    "BusError",
    "MissingTopicError",
    "OutgoingMessage",
    "Publisher",
    "Record",
    "Subscriber",
    "TopicPartition",
    "bus_from_url",
    "dlt_topic",
    "partition_for",
]


def bus_from_url(url: str, settings: Settings | None = None) -> Bus:
    """The bus named by ``url``: ``local://PATH`` or ``kafka://HOST:PORT[,HOST:PORT]``."""
    settings = settings or Settings()
    if url.startswith("local://"):
        from shulian_common.bus.local import LocalBus

        return LocalBus(
            url.removeprefix("local://"),
            partitions=settings.bus_partitions,
            wake=settings.bus_local_wake,
            poll_interval=settings.bus_local_poll_interval,
        )
    if url.startswith("kafka://"):
        from shulian_common.bus.kafka import KafkaBus, client_security

        return KafkaBus(
            url.removeprefix("kafka://"),
            enable_idempotence=settings.kafka_enable_idempotence,
            acks=settings.kafka_acks,
            linger_ms=settings.kafka_linger_ms,
            partitions=settings.bus_partitions,
            replication_factor=settings.kafka_replication_factor,
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
            security=client_security(settings),
        )
    raise ValueError(f"unsupported bus URL {url!r}: use local://PATH or kafka://HOST:PORT")
