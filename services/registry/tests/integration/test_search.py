"""Directory search: free Chinese text, structured filters and cursor pages."""

from __future__ import annotations

from typing import Any

import pytest

from shulian_common.auth import Role
from shulian_registry.testing import Registry, register, supplier_body

# name, county, service lines, industries
DIRECTORY = [
    ("宜宾蜀才人力资源有限公司", "511502", ["recruitment", "headhunting"], ["power_batteries"]),
    ("宜宾三江劳务有限公司", "511504", ["labour_dispatch"], ["power_batteries", "liquor_food"]),
    ("宜宾酒都人才服务有限公司", "511502", ["training"], ["liquor_food"]),
    ("成都华西猎头有限公司", "510104", ["headhunting", "consulting"], ["electronic_information"]),
    ("成都天府人力资源有限公司", "510107", ["outsourcing"], ["electronic_information"]),
    ("锦江英才测评有限公司", "510104", ["assessment"], ["modern_services"]),
    ("自贡彩灯人力资源有限公司", "510302", ["recruitment"], ["lantern_making"]),
    ("泸州酒城劳务有限公司", "510502", ["labour_dispatch"], ["liquor_food"]),
    ("攀枝花钒钛人才服务有限公司", "510402", ["training", "headhunting"], ["vanadium_titanium"]),
    ("凉山彝乡劳务有限公司", "513401", ["labour_services"], ["modern_agriculture"]),
    ("南充汽配人力资源有限公司", "511302", ["recruitment"], ["autos_parts"]),
    ("绵阳科技城人才发展有限公司", "510703", ["hr_software"], ["electronic_information"]),
]


@pytest.fixture
async def directory(registry: Registry) -> dict[str, dict[str, Any]]:
    """The directory above, registered through the API, by name."""
    found = {}
    for name, county, lines, industries in DIRECTORY:
        body = supplier_body(county, name=name, service_lines=lines, industries=industries)
        found[name] = await register(registry, body)
    return found


async def _names(registry: Registry, query: str) -> set[str]:
    response = await registry.client.get(f"/v1/suppliers?{query}", headers=registry.province)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return {item["name"] for item in response.json()["items"]}


async def test_headhunting_finds_the_headhunters(
    registry: Registry, directory: dict[str, Any]
) -> None:
    assert await _names(registry, "q=猎头") == {
        "宜宾蜀才人力资源有限公司",
        "成都华西猎头有限公司",
        "攀枝花钒钛人才服务有限公司",
    }


async def test_a_place_and_an_industry_find_what_they_say(
    registry: Registry, directory: dict[str, Any]
) -> None:
    for query in ("宜宾 动力电池", "宜宾动力电池", "宜宾市 电池"):
        assert await _names(registry, f"q={query}") == {
            "宜宾蜀才人力资源有限公司",
            "宜宾三江劳务有限公司",
        }, query


FREE_TEXT = [
    ("q=华西", {"成都华西猎头有限公司"}),  # a brand: name bigrams
    ("q=锦江 测评", {"锦江英才测评有限公司"}),  # county short name + service line
    (
        "q=川南 白酒",
        {"宜宾三江劳务有限公司", "宜宾酒都人才服务有限公司", "泸州酒城劳务有限公司"},
    ),
    ("q=凉山州", {"凉山彝乡劳务有限公司"}),
    ("q=彩灯人力资源有限公司", {"自贡彩灯人力资源有限公司"}),
    ("q=不存在的公司", set()),
]


async def test_free_text(registry: Registry, directory: dict[str, Any]) -> None:
    for query, expected in FREE_TEXT:
        assert await _names(registry, query) == expected, query


async def test_a_full_uscc_finds_its_supplier(
    registry: Registry, directory: dict[str, Any]
) -> None:
    supplier = directory["南充汽配人力资源有限公司"]
    assert await _names(registry, f"q={supplier['uscc']}") == {supplier["name"]}


FILTERS = [
    (
        "city=510100",
        {"成都华西猎头有限公司", "成都天府人力资源有限公司", "锦江英才测评有限公司"},
    ),
    ("city=510300&city=510400", {"自贡彩灯人力资源有限公司", "攀枝花钒钛人才服务有限公司"}),
    ("county=510104", {"成都华西猎头有限公司", "锦江英才测评有限公司"}),
    ("region=panxi", {"攀枝花钒钛人才服务有限公司", "凉山彝乡劳务有限公司"}),
    (
        "industry=liquor_food&region=south",
        {"宜宾三江劳务有限公司", "宜宾酒都人才服务有限公司", "泸州酒城劳务有限公司"},
    ),
    ("service_line=labour_dispatch", {"宜宾三江劳务有限公司", "泸州酒城劳务有限公司"}),
    (
        "industry=electronic_information&high_end=true",
        {"成都华西猎头有限公司", "绵阳科技城人才发展有限公司"},
    ),
    ("industry=electronic_information&high_end=false", {"成都天府人力资源有限公司"}),
    ("city=510100&q=猎头", {"成都华西猎头有限公司"}),
]


async def test_filters(registry: Registry, directory: dict[str, Any]) -> None:
    for query, expected in FILTERS:
        assert await _names(registry, query) == expected, query


async def test_the_listing_status_filter_follows_the_workflow(
    registry: Registry, directory: dict[str, Any]
) -> None:
    supplier = directory["成都天府人力资源有限公司"]
    url = f"/v1/suppliers/{supplier['id']}/listing"
    apply = {"industries": ["electronic_information"], "fields": ["outsourcing"]}
    await registry.client.post(url, json=apply, headers=registry.province)
    for action in ("review", "approve"):
        response = await registry.client.post(
            f"{url}/decisions", json={"action": action}, headers=registry.province
        )
        assert response.status_code == 201

    assert await _names(registry, "status=listed") == {supplier["name"]}
    assert len(await _names(registry, "status=not_applied")) == len(DIRECTORY) - 1
    assert await _names(registry, "status=listed&status=applied&q=天府") == {supplier["name"]}


async def _walk(registry: Registry, query: str, limit: int) -> list[str]:
    """Every id a query finds, page by page."""
    seen: list[str] = []
    cursor = None
    while True:
        page_query = f"{query}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = await registry.client.get(
            f"/v1/suppliers?{page_query}", headers=registry.province
        )
        page = response.json()
        assert len(page["items"]) <= limit
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


async def test_pages_cover_everything_once_in_id_order(
    registry: Registry, directory: dict[str, Any]
) -> None:
    everyone = {supplier["id"] for supplier in directory.values()}
    for query in ("", "q=有限公司&", "q=人力&", "region=south&"):
        paged = await _walk(registry, query, limit=5)
        whole = await _walk(registry, query, limit=100)

        assert paged == whole == sorted(whole), query
        assert len(set(paged)) == len(paged), query
        assert set(paged) <= everyone
    # The legal form says nothing about a firm, so it finds everyone.
    assert set(await _walk(registry, "q=有限公司&", limit=5)) == everyone


async def test_the_limit_is_capped(registry: Registry, directory: dict[str, Any]) -> None:
    response = await registry.client.get("/v1/suppliers?limit=1000", headers=registry.province)
    assert response.status_code == 200
    assert len(response.json()["items"]) == len(DIRECTORY)


async def test_bad_search_parameters_are_problems(registry: Registry) -> None:
    bad_cursor = await registry.client.get("/v1/suppliers?cursor=%%%", headers=registry.province)
    bad_industry = await registry.client.get(
        "/v1/suppliers?industry=astrology", headers=registry.province
    )
    bad_region = await registry.client.get("/v1/suppliers?region=tibet", headers=registry.province)

    assert (bad_cursor.status_code, bad_cursor.json()["code"]) == (400, "invalid_cursor")
    assert (bad_industry.status_code, bad_industry.json()["code"]) == (422, "validation_error")
    assert bad_region.status_code == 422
    # A division code that cannot be one is a mistake to report, not a filter matching nothing.
    for field in ("city", "county", "node"):
        for value in ("abc", "5101", "5101000"):
            response = await registry.client.get(
                f"/v1/suppliers?{field}={value}", headers=registry.province
            )
            assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    for path in ("/v1/stations?county=abc", "/v1/parks?city=5115"):
        response = await registry.client.get(path, headers=registry.province)
        assert (response.status_code, response.json()["code"]) == (422, "validation_error"), path


async def test_everyone_authenticated_reads_and_no_one_else(
    registry: Registry, directory: dict[str, Any]
) -> None:
    for role in Role:
        division = {"province_admin": "510000", "city_operator": "510100"}.get(role)
        division = division or ("510104" if role == "county_operator" else None)
        headers = registry.auth(role, division)
        response = await registry.client.get("/v1/suppliers?q=猎头", headers=headers)
        assert response.status_code == 200, role
    anonymous = await registry.client.get("/v1/suppliers")
    assert anonymous.status_code == 401
