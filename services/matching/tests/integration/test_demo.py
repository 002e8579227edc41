"""The demo: a year of orders seeded through the handlers, then traded to fulfilment through the
same commands a user's grabs take, once the node knows suppliers."""

from __future__ import annotations

from pathlib import Path

from shulian_matching.demo import SERVICE_LINES, demo_trade, seed_demo
from shulian_matching.testing import YIBIN, matching_settings_for, publish, running, supplier_event


async def test_the_demo_orders_are_seeded_once_and_traded_to_fulfilment(
    database_url: str, tmp_path: Path
) -> None:
    settings = matching_settings_for(database_url, tmp_path, YIBIN, demo_orders=16)
    assert await seed_demo(settings) == 16
    assert await seed_demo(settings) == 0  # a restart seeds nothing twice

    async with running(settings) as node:
        lines = tuple(code for code, _ in SERVICE_LINES)
        await publish(
            node,
            supplier_event(county="511502", service_lines=lines, industries=("power_batteries",)),
        )
        await node.drain()
        for _ in range(5):  # grab, confirm, start, fulfil (and a spare round)
            await demo_trade(node.runtime.uow_factory, node.settings)
            await node.drain()

        placed = await node.events("order.placed")
        fulfilled = await node.events("order.fulfilled")
        decided = await node.events("grab.decided")
    assert len(placed) == 16
    assert {e["data"]["city_code"] for e in placed} == {YIBIN}
    assert fulfilled, "some demo orders reach fulfilment"
    assert all(e["data"]["contract_value_yuan"] for e in fulfilled)
    assert {e["data"]["status"] for e in decided} >= {"awarded", "confirmed"}
