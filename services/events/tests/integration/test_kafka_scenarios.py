"""The cross-node Done-when scenarios over the Kafka protocol (Tansu, one broker for the session),
where the local log cannot stand in: the owner node restarted while requests from two other nodes
are still on the command topic resumes from its consumer group's committed offsets and decides each
request once, in log order, with capacity exact, and the requesters' nodes follow every decision.
(Contention from three nodes over Kafka: test_cross_node_registrations.) Each node has a SQLite
file of its own, so a restarted node keeps its database."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from shulian_common.testing.kafka import KafkaBroker
from shulian_common.testing.node import node_settings
from shulian_events.contracts import REGISTRATION_REQUESTS_TOPIC
from shulian_events.settings import EventsSettings
from shulian_events.testing import (
    Events,
    activity_body,
    ask,
    command_log,
    publish_participants,
    running,
)

pytestmark = pytest.mark.kafka

YIBIN, CHENGDU, PROVINCE = "511500", "510100", "510000"
Start = Callable[..., AbstractAsyncContextManager[Events]]


@pytest.fixture
def start(kafka_broker: KafkaBroker, kafka_bus_url: str, tmp_path: Path) -> Start:
    """Start the calendar as a node on the session's broker (topics and groups of this test's
    own); the same node started again reuses its database file (and its consumer group)."""

    def start_node(node: str, **overrides: Any) -> AbstractAsyncContextManager[Events]:
        (tmp_path / node).mkdir(exist_ok=True)
        return running(
            node_settings(
                EventsSettings,
                database_url=f"sqlite+aiosqlite:///{tmp_path / node / 'events.db'}",
                tmp_path=tmp_path,
                node=node,
                bus_url=kafka_bus_url,
                kafka_enable_idempotence=kafka_broker.idempotence,
                **overrides,
            )
        )

    return start_node


async def _registrations(node: Events, activity_id: str) -> list[dict[str, Any]]:
    response = await node.client.get(
        f"/v1/activities/{activity_id}/registrations", headers=node.province
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


async def _first_decided(node: Events, activity_id: str) -> int:
    """Wait until the node's background consumer has decided a request; how many it had."""
    async with asyncio.timeout(60):
        for _ in itertools.count():
            if decided := len(await _registrations(node, activity_id)):
                return decided
            await asyncio.sleep(0.01)
    raise AssertionError("unreachable")


async def test_the_owner_restarted_mid_stream_decides_each_request_once_in_log_order(
    start: Start,
) -> None:
    suppliers = [f"{n:032x}" for n in range(1, 61)]
    async with start(CHENGDU) as chengdu, start(PROVINCE) as province:
        async with start(YIBIN) as yibin:
            created = await yibin.client.post(
                "/v1/activities", json=activity_body(capacity=20), headers=yibin.province
            )
            activity_id = created.json()["id"]
            await publish_participants(yibin, suppliers)
            await yibin.drain(chengdu, province, timeout=120)
        # The owner again, its consumer in the background (drain() stopped it), one record per
        # poll so that stopping it lands mid-stream.
        async with start(YIBIN, consumer_batch_size=1) as yibin:
            asked = await asyncio.gather(
                *(ask((chengdu, province)[n % 2], activity_id, s) for n, s in enumerate(suppliers))
            )
            for node in (chengdu, province):  # requests from two nodes, on the broker
                await node.runtime.relay.drain(timeout=60)
            decided_before_stop = await _first_decided(yibin, activity_id)
        async with start(YIBIN) as yibin:
            await yibin.drain(chengdu, province, timeout=180)
            log = [r for r in await command_log(yibin, REGISTRATION_REQUESTS_TOPIC) if r in asked]
            rows = await _registrations(yibin, activity_id)
            decisions = await yibin.events("registration_request.decided")
            followed = [await _registrations(node, activity_id) for node in (chengdu, province)]

    assert 0 < decided_before_stop < len(suppliers)  # the restart fell mid-stream
    assert sorted(log) == sorted(asked)  # every request on the log, once
    assert [r["id"] for r in rows] == log  # decided in log order, across the restart
    assert [r["seq"] for r in rows] == list(range(1, 61))
    assert [r["status"] for r in rows] == ["confirmed"] * 20 + ["waitlisted"] * 40
    assert sorted(d["data"]["request_id"] for d in decisions) == sorted(asked)  # once each
    for seen in followed:
        assert [(r["id"], r["status"]) for r in seen] == [(r["id"], r["status"]) for r in rows]
