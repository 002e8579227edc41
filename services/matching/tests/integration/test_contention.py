"""200 concurrent grabs of a 1-slot order from three nodes: exactly one award, the rest rejected
with reasons, and every requesting node learns its grab's outcome — on SQLite and PostgreSQL over
the local log, and on both over a Kafka-protocol broker (Tansu)."""

from __future__ import annotations

from collections import Counter

import pytest

from shulian_common.testing.kafka import KafkaBroker
from shulian_matching.testing import (
    CHENGDU,
    LESHAN,
    YIBIN,
    Matching,
    NodeStarter,
    grab_storm,
    outcomes,
    place,
    service_order,
)

GRABS = 200


async def _storm_gives_one_award(nodes: dict[str, Matching], *, drain_within: float = 30) -> None:
    yibin = nodes[YIBIN]
    others = [n for city, n in nodes.items() if city != YIBIN]
    order = await place(yibin, service_order(visibility="province", slots=1), YIBIN)
    await yibin.drain(*others, timeout=drain_within)

    grabs = await grab_storm(nodes, order["id"], GRABS)
    await yibin.drain(*others, timeout=drain_within)

    found = Counter(await outcomes(nodes, grabs))
    assert found == {("awarded", None): 1, ("rejected", "no_slot_left"): GRABS - 1}
    decided = [e for e in await yibin.events("grab.decided") if e["key"] == order["id"]]
    assert sorted(e["data"]["seq"] for e in decided) == list(range(1, GRABS + 1))
    for node in nodes.values():
        seen = await node.client.get(f"/v1/orders/{order['id']}", headers=node.province)
        assert (seen.json()["status"], seen.json()["awarded_count"]) == ("awarded", 1)


async def test_two_hundred_grabs_from_three_nodes_give_exactly_one_award(
    start_node: NodeStarter,
) -> None:
    async with (
        start_node(YIBIN) as yibin,
        start_node(CHENGDU) as chengdu,
        start_node(LESHAN) as leshan,
    ):
        await _storm_gives_one_award({YIBIN: yibin, CHENGDU: chengdu, LESHAN: leshan})


@pytest.mark.kafka
async def test_the_same_over_kafka(
    kafka_broker: KafkaBroker, kafka_bus_url: str, start_node: NodeStarter
) -> None:
    """On SQLite and on PostgreSQL (each node its own database), over the session's broker with
    topics and consumer groups of this test's own (``kafka_bus_url``)."""
    overrides = {"bus_url": kafka_bus_url, "kafka_enable_idempotence": kafka_broker.idempotence}
    async with (
        start_node(YIBIN, **overrides) as yibin,
        start_node(CHENGDU, **overrides) as chengdu,
        start_node(LESHAN, **overrides) as leshan,
    ):
        await _storm_gives_one_award(
            {YIBIN: yibin, CHENGDU: chengdu, LESHAN: leshan}, drain_within=120
        )
