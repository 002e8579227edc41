"""The demo province, seeded through the handlers: counts, events, scope, idempotence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.settings import Settings
from shulian_common.uow import UnitOfWorkFactory
from shulian_registry.demo import generate, seed, seed_demo
from shulian_registry.demo.seed import DEMO_SEED, demo_owner
from shulian_registry.orm import MIGRATIONS
from shulian_registry.testing import Registry, registry_settings_for, running


async def _seed(database_url: str, node: str, suppliers: int, nodes: tuple[str, ...] = ()) -> int:
    engine = create_engine(database_url)
    try:
        await migrate(engine, MIGRATIONS)
        factory = UnitOfWorkFactory(
            create_session_factory(engine), source=f"/nodes/{node}/registry"
        )
        return await seed(factory, node_id=node, nodes=nodes, suppliers=suppliers)
    finally:
        await engine.dispose()


async def _items(node: Registry, query: str) -> list[dict[str, Any]]:
    response = await node.client.get(f"{query}&limit=100", headers=node.province)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_the_province_node_seeds_a_believable_province_once(
    database_url: str, tmp_path: Path
) -> None:
    created = await _seed(database_url, "510000", suppliers=60)
    again = await _seed(database_url, "510000", suppliers=60)

    assert created > 60
    assert again == 0
    async with running(registry_settings_for(database_url, tmp_path, "510000")) as node:
        suppliers = await _items(node, "/v1/suppliers?")
        parks = await _items(node, "/v1/parks?")
        sharing = await _items(node, "/v1/stations?kind=sharing_station")
        events = await node.events()

    assert len(suppliers) == 60
    assert {"not_applied", "listed"} <= {s["listing_status"] for s in suppliers}
    assert len({s["city_code"] for s in suppliers}) > 10
    assert "中国成都人力资源服务产业园" in {p["name"] for p in parks}
    assert len(sharing) == 20  # one per Chengdu county
    assert sum(e["type"] == "supplier.registered.v1" for e in events) == 60
    assert sum(e["type"] == "supplier.listing_changed.v1" for e in events) > 0
    assert len(events) >= created


async def test_a_city_node_seeds_only_its_own_city(database_url: str, tmp_path: Path) -> None:
    await _seed(database_url, "511500", suppliers=120)

    async with running(registry_settings_for(database_url, tmp_path, "511500")) as node:
        suppliers = await _items(node, "/v1/suppliers?")
        markets = await _items(node, "/v1/markets?")

    assert suppliers
    assert {s["city_code"] for s in suppliers} == {"511500"}
    assert {s["owner_node"] for s in suppliers} == {"511500"}
    assert {m["city_code"] for m in markets} == {"511500"}


async def test_seed_demo_migrates_and_seeds_the_node_s_default_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHULIAN_DEMO_SUPPLIERS", "30")
    settings = Settings(node_id="510000", service="registry", data_dir=tmp_path)

    created = await seed_demo(settings)

    assert created > 30
    assert (tmp_path / "510000" / "registry.db").exists()
    assert await seed_demo(settings) == 0


async def test_a_three_node_demo_holds_each_demo_supplier_exactly_once(
    database_url: str, other_database_url: str, third_database_url: str, tmp_path: Path
) -> None:
    nodes = ("510000", "510100", "511500")
    urls = dict(zip(nodes, (database_url, other_database_url, third_database_url), strict=True))
    created = {
        node: await _seed(url, node, suppliers=120, nodes=nodes) for node, url in urls.items()
    }
    expected = {s.uscc: s.county_code[:4] for s in generate(120, seed=DEMO_SEED)}

    async with (
        running(registry_settings_for(urls["510000"], tmp_path, "510000")) as province,
        running(registry_settings_for(urls["510100"], tmp_path, "510100")) as chengdu,
        running(registry_settings_for(urls["511500"], tmp_path, "511500")) as yibin,
    ):
        await province.drain(chengdu, yibin)
        directories = {
            node.settings.node_id: await _all(node, "/v1/suppliers?")
            for node in (province, chengdu, yibin)
        }
        own = {
            node.settings.node_id: await node.count("suppliers")
            for node in (province, chengdu, yibin)
        }

    assert all(count > 0 for count in created.values())
    assert sum(own.values()) == len(expected)  # each demo supplier seeded by one node only
    for node, directory in directories.items():
        usccs = [s["uscc"] for s in directory]
        assert sorted(usccs) == sorted(expected), node  # the whole province, each once
        for supplier in directory:
            city = expected[supplier["uscc"]]
            owner = {"5101": "510100", "5115": "511500"}.get(city, "510000")
            assert supplier["owner_node"] == owner, (node, supplier["uscc"])


async def _all(node: Registry, query: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        response = await node.client.get(f"{query}limit=100{cursor}", headers=node.province)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        cursor = f"&cursor={page['next_cursor']}"


def test_the_most_specific_node_of_the_network_seeds_a_division() -> None:
    network = ["510000", "510100", "510104", "511500"]

    assert demo_owner(network, "510104") == "510104"  # a county node before its city's
    assert demo_owner(network, "510105") == "510100"
    assert demo_owner(network, "511502") == "511500"
    assert demo_owner(network, "510302") == "510000"  # Zigong has no node: the province's
    assert demo_owner(["510100"], "510302") is None  # a city node alone seeds only its city
