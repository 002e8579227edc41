"""The province's directory searches alike whoever owns each entry: the same generated suppliers,
all local on one node and half replicated from their city nodes on another, answer every search
with the same ids in the same pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.schemas import Page
from shulian_common.testing.responses import assert_conforms
from shulian_registry.demo import SupplierSeed, bulk_load, generate
from shulian_registry.orm import MIGRATIONS
from shulian_registry.schemas import SupplierRead
from shulian_registry.testing import Registry, registry_settings_for, running

SUPPLIERS = 300
SEARCHES = (
    "",  # no term: both tables scanned in id order
    "q=猎头",
    "q=成都 培训",
    "q=人力&status=listed",
    "q=川",  # a lone character: a name substring, checked on either table
    "region=south&high_end=true",
    "industry=electronic_information&industry=liquor_food",
    "node=510000",
    "node=510100&service_line=recruitment",
)


def _every_other(seed: SupplierSeed) -> bool:
    return seed.index % 2 == 1


async def _load(url: str, *, replicated: bool) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine, MIGRATIONS)
        async with create_session_factory(engine)() as session:
            picked = _every_other if replicated else (lambda _seed: False)
            await bulk_load(
                session, generate(SUPPLIERS, seed=5), node_id="510000", replicated=picked
            )
            await session.commit()
    finally:
        await engine.dispose()


async def _pages(node: Registry, query: str) -> list[list[tuple[str, str]]]:
    """Every page of a search (pages of 40) as (id, name) pairs."""
    pages, cursor = [], ""
    while True:
        response = await node.client.get(
            f"/v1/suppliers?{query}&limit=40{cursor}", headers=node.province
        )
        assert response.status_code == 200, response.text
        # Serialised from the rows without a model: exactly what SupplierRead would render.
        body: dict[str, Any] = assert_conforms(Page[SupplierRead], response.content)
        pages.append([(item["id"], item["name"]) for item in body["items"]])
        if body["next_cursor"] is None:
            return pages
        cursor = f"&cursor={body['next_cursor']}"


async def test_replicated_entries_search_exactly_like_local_ones(
    database_url: str, other_database_url: str, tmp_path: Path
) -> None:
    await _load(database_url, replicated=False)
    await _load(other_database_url, replicated=True)
    local_node = "510000"

    async with running(registry_settings_for(database_url, tmp_path, local_node)) as alone:
        expected = {query: await _pages(alone, query) for query in SEARCHES[:-2]}
    async with running(registry_settings_for(other_database_url, tmp_path, local_node)) as mixed:
        found = {query: await _pages(mixed, query) for query in SEARCHES}
        owners = {
            item["owner_node"]
            for item in (
                await mixed.client.get("/v1/suppliers?limit=100", headers=mixed.province)
            ).json()["items"]
        }

    for query in SEARCHES[:-2]:
        assert found[query] == expected[query], query
        assert sum(map(len, found[query])) > 0, query
    assert len([entry for page in found[""] for entry in page]) == SUPPLIERS
    assert len(found[""]) > 1  # paged across both tables
    # The owner filter: the province node's own half, and Chengdu's replicated recruiters.
    own = {entry for page in found["node=510000"] for entry in page}
    assert len(own) == SUPPLIERS // 2
    assert found["node=510100&service_line=recruitment"][0]
    assert {"510000", "510100"} <= owners
