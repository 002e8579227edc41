"""The demo: a year of orders seeded through the handlers, then traded to fulfilment through the
same commands a user's grabs take, once the node knows suppliers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from shulian_common.reference import PROVINCE_CODE, city_of
from shulian_matching.demo import SERVICE_LINES, demo_orders, demo_trade, seed_demo
from shulian_matching.settings import MatchingSettings
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


def test_beside_a_city_node_the_province_node_seeds_none_of_its_orders() -> None:
    today = date.today()
    alone = demo_orders(PROVINCE_CODE, 400, today=today)
    assert sum(city_of(o["county_code"]).code == YIBIN for o in alone) == 19
    network = [PROVINCE_CODE, YIBIN]
    province = demo_orders(PROVINCE_CODE, 400, today=today, nodes=network)
    yibin = demo_orders(YIBIN, 400, today=today, nodes=network)
    assert len(province) == len(yibin) == 400
    assert all(city_of(o["county_code"]).code != YIBIN for o in province)
    assert len({city_of(o["county_code"]).code for o in province}) == 20
    assert all(city_of(o["county_code"]).code == YIBIN for o in yibin)
    # A county node takes its county from its city's node.
    split = demo_orders(YIBIN, 40, today=today, nodes=[YIBIN, "511502"])
    assert len(split) == 40
    assert all(o["county_code"] != "511502" for o in split)


async def test_the_demo_network_reaches_the_seed_through_the_settings(
    database_url: str, tmp_path: Path
) -> None:
    settings = matching_settings_for(
        database_url, tmp_path, PROVINCE_CODE, demo_orders=40, demo_nodes=f"510000,{YIBIN}"
    )
    assert settings.demo_network == [PROVINCE_CODE, YIBIN]
    assert await seed_demo(settings) == 40
    async with running(settings) as node:
        placed = await node.events("order.placed")
    assert len(placed) == 40
    assert YIBIN not in {e["data"]["city_code"] for e in placed}
    with pytest.raises(ValidationError):
        MatchingSettings(demo_nodes="510000,519999")
