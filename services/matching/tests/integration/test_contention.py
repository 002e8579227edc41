"""200 concurrent grabs of a 1-slot order from three nodes: exactly one award, the rest rejected
with reasons, and every requesting node learns its grab's outcome."""

from __future__ import annotations

import asyncio
from collections import Counter

from shulian_matching.testing import (
    CHENGDU,
    LESHAN,
    YIBIN,
    Matching,
    NodeStarter,
    place,
    publish,
    service_order,
    supplier,
    supplier_event,
)

COUNTY = {YIBIN: "511502", CHENGDU: "510104", LESHAN: "511102"}
GRABS = 200


async def _grab_storm(nodes: dict[str, Matching], order_id: str) -> list[tuple[str, str]]:
    """Register ``GRABS`` listed suppliers over the three cities and let them all grab at once."""
    suppliers = [
        (city, supplier_event(county=COUNTY[city]))
        for i in range(GRABS)
        for city in [list(nodes)[i % 3]]
    ]
    await publish(nodes[YIBIN], *(event for _, event in suppliers))
    await nodes[YIBIN].drain(*(n for c, n in nodes.items() if c != YIBIN))

    async def grab(city: str, supplier_id: str) -> tuple[str, str]:
        node = nodes[city]
        response = await node.client.post(
            f"/v1/orders/{order_id}/grabs", headers=supplier(node, supplier_id)
        )
        assert response.status_code == 202, response.text
        return city, response.json()["id"]

    return list(await asyncio.gather(*(grab(c, e.partitionkey) for c, e in suppliers)))


async def test_two_hundred_grabs_from_three_nodes_give_exactly_one_award(
    start_node: NodeStarter,
) -> None:
    async with (
        start_node(YIBIN) as yibin,
        start_node(CHENGDU) as chengdu,
        start_node(LESHAN) as leshan,
    ):
        nodes = {YIBIN: yibin, CHENGDU: chengdu, LESHAN: leshan}
        order = await place(yibin, service_order(visibility="province", slots=1), YIBIN)
        await yibin.drain(chengdu, leshan)

        grabs = await _grab_storm(nodes, order["id"])
        await yibin.drain(chengdu, leshan)

        outcomes = []
        for city, grab_id in grabs:
            node = nodes[city]
            body = (await node.client.get(f"/v1/grabs/{grab_id}", headers=node.province)).json()
            outcomes.append((body["status"], body["reason"]))
        assert Counter(outcomes) == {("awarded", None): 1, ("rejected", "no_slot_left"): GRABS - 1}
        decided = await yibin.events("grab.decided")
        assert len(decided) == GRABS
        assert sorted(e["data"]["seq"] for e in decided) == list(range(1, GRABS + 1))
        final = (await yibin.client.get(f"/v1/orders/{order['id']}", headers=yibin.province)).json()
        assert (final["status"], final["awarded_count"]) == ("awarded", 1)
        for node in (chengdu, leshan):
            seen = await node.client.get(f"/v1/orders/{order['id']}", headers=node.province)
            assert (seen.json()["status"], seen.json()["awarded_count"]) == ("awarded", 1)
