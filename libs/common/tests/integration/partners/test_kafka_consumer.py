"""The example Kafka consumer against a Kafka-protocol broker (Tansu in the tests): a service
publishes through its relay, the partner's consumer (group ``partner.<name>.main``) reads the
public topic and decodes each record with the CloudEvents SDK into the event the feed serves."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from cloudevents.core.base import BaseCloudEvent
from kit_example.contracts import NOTES_TOPIC
from kit_example.main import create_app
from partner.kafka_consumer import consumer_for, events

from shulian_common.testing.kafka import KafkaBroker
from shulian_common.testing.node import run_node

from .conftest import example_settings, partner, write_notes

DEADLINE = 60.0


@pytest.mark.kafka
async def test_the_example_consumer_decodes_what_the_feed_serves(
    kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    settings = example_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'kit.db'}",
        tmp_path,
        bus_url=f"kafka://{kafka_broker.bootstrap}",
        kafka_enable_idempotence=kafka_broker.idempotence,
    )
    async with run_node(create_app, settings) as node:
        written = await write_notes(node, 5)
        await node.drain()  # published to the broker, positions given
        feed = await node.client.get("/v1/feed", headers=partner(node))
        tansu = kafka_broker.kind == "tansu"
        consumer = consumer_for(
            kafka_broker.bootstrap,
            "county-platform",
            topics=[NOTES_TOPIC],
            session_timeout_ms=1_000 if tansu else 6_000,
            heartbeat_interval_ms=100 if tansu else 500,
        )
        await consumer.start()
        received: dict[str, BaseCloudEvent] = {}
        try:
            deadline = time.monotonic() + DEADLINE
            stream = events(consumer)
            while not set(written) <= received.keys() and time.monotonic() < deadline:
                event = await asyncio.wait_for(anext(stream), timeout=DEADLINE)
                received[event.get_id()] = event
            group = consumer._group_id  # the group the partner's ACLs allow (deploy/)
        finally:
            await consumer.stop()

    assert group == "partner.county-platform.main"
    served = {event["id"]: event for event in feed.json()}
    assert set(written) <= received.keys()
    for event_id in written:
        decoded, expected = received[event_id], served[event_id]
        assert decoded.get_type() == expected["type"]
        assert decoded.get_source() == expected["source"]
        assert decoded.get_data() == expected["data"]
        assert decoded.get_extension("partitionkey") == expected["partitionkey"]
        assert decoded.get_time().isoformat() == expected["time"]
