"""The demo province, seeded through the handlers: counts, events, scope, idempotence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.settings import Settings
from shulian_common.uow import UnitOfWorkFactory
from shulian_registry.demo import seed, seed_demo
from shulian_registry.orm import MIGRATIONS
from shulian_registry.testing import Registry, registry_settings_for, running


async def _seed(database_url: str, node: str, suppliers: int) -> int:
    engine = create_engine(database_url)
    try:
        await migrate(engine, MIGRATIONS)
        factory = UnitOfWorkFactory(
            create_session_factory(engine), source=f"/nodes/{node}/registry"
        )
        return await seed(factory, node_id=node, suppliers=suppliers)
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


async def test_beside_city_nodes_the_province_seeds_only_province_records(
    database_url: str, tmp_path: Path
) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine, MIGRATIONS)
        factory = UnitOfWorkFactory(create_session_factory(engine), source="/nodes/510000/registry")
        created = await seed(factory, node_id="510000", scope="", suppliers=40)
        again = await seed(factory, node_id="510000", scope="", suppliers=40)
    finally:
        await engine.dispose()

    async with running(registry_settings_for(database_url, tmp_path, "510000")) as node:
        suppliers = await _items(node, "/v1/suppliers?")
        pairings = await _items(node, "/v1/pairings?")
        platforms = await _items(node, "/v1/platforms?")

    assert suppliers == []
    assert created == len(pairings) + len(platforms) == 2
    assert again == 0
    assert {p["division_code"] for p in pairings + platforms} == {"510000"}
