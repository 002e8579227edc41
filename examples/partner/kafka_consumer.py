"""A partner reading Shulian's public topics straight from Kafka with aiokafka (read-only).

Records are CloudEvents in binary mode: the context in ``ce_*`` headers, the JSON ``data`` as the
value, the aggregate id as the key; the CloudEvents SDK (``pip install aiokafka cloudevents``)
decodes them with its Kafka binding. Each topic and type is described by the producing service's
AsyncAPI document (``GET /v1/events/asyncapi.json``). Order holds per key (per aggregate); the
same event may arrive twice after a rebalance, so handle it idempotently by ``ce_id``.
The group id must start with ``partner.<name>.``: the partner's KafkaUser may use no other.

    python examples/partner/kafka_consumer.py kafka.example.cn:9094 chengdu-online-park PW [CA]

With a password (PW) it logs in with SCRAM-SHA-512 over TLS, trusting the brokers' CA from the file
CA (the backbone's ``shulian-cluster-ca-cert``, deploy/README.md) or else the system's CAs.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.helpers import create_ssl_context
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event

PUBLIC_TOPICS = (
    "shulian.registry.suppliers.v1",
    "shulian.registry.network.v1",
    "shulian.registry.enterprises.v1",
)


def cloud_event(record: Any) -> BaseCloudEvent:
    """The CloudEvent of a binary-mode record (aiokafka's ``ConsumerRecord``)."""
    headers = {name: value for name, value in record.headers if value is not None}
    return from_binary_event(KafkaMessage(headers=headers, key=record.key, value=record.value))


async def events(consumer: AIOKafkaConsumer) -> AsyncIterator[BaseCloudEvent]:
    """Events as they come; the offset is committed after the caller handled each one."""
    async for record in consumer:
        yield cloud_event(record)
        await consumer.commit()


def consumer_for(
    bootstrap: str,
    partner: str,
    *,
    topics: Sequence[str] = PUBLIC_TOPICS,
    password: str | None = None,
    cafile: str | None = None,
    group: str = "main",
    **options: Any,
) -> AIOKafkaConsumer:
    """A consumer in the partner's group ``partner.<partner>.<group>``, SCRAM over TLS when a
    password (trusting ``cafile``, else the system's CAs; ``options``: any other
    ``AIOKafkaConsumer`` setting)."""
    security: dict[str, Any] = {}
    if password is not None:
        security = {
            "security_protocol": "SASL_SSL",
            # aiokafka refuses SASL_SSL without a context: it does not make a default one.
            "ssl_context": create_ssl_context(cafile=cafile),
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": f"partner-{partner}",
            "sasl_plain_password": password,
        }
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=f"partner.{partner}.{group}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **security,
        **options,
    )


async def main(bootstrap: str, partner: str, password: str | None, cafile: str | None) -> None:
    """Print every public event."""
    consumer = consumer_for(bootstrap, partner, password=password, cafile=cafile)
    await consumer.start()
    try:
        async for event in events(consumer):
            print(event.get_type(), event.get_id(), event.get_subject() or "")  # noqa: T201
    finally:
        await consumer.stop()


if __name__ == "__main__":
    optional = [*sys.argv[3:5], None, None]
    asyncio.run(main(sys.argv[1], sys.argv[2], optional[0], optional[1]))
