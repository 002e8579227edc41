"""Reference data, the OpenAPI document and the event catalogue, as callers see them."""

from __future__ import annotations

from shulian_registry.testing import Registry


async def test_divisions_are_sichuan_s_with_their_regions(registry: Registry) -> None:
    cities = await registry.client.get(
        "/v1/reference/divisions?level=city", headers=registry.province
    )
    yibin = await registry.client.get(
        "/v1/reference/divisions?parent=511500", headers=registry.province
    )

    assert len(cities.json()) == 21
    chengdu = next(c for c in cities.json() if c["code"] == "510100")
    assert (chengdu["name"], chengdu["region"], chengdu["region_name"]) == (
        "成都市",
        "chengdu_plain",
        "成都平原",
    )
    assert {d["name"] for d in yibin.json()} >= {"翠屏区", "叙州区", "屏山县"}
    assert all(d["level"] == "county" for d in yibin.json())


async def test_industries_and_service_lines_are_coded_with_chinese_names(
    registry: Registry,
) -> None:
    industries = (
        await registry.client.get("/v1/reference/industries", headers=registry.province)
    ).json()
    lines = (
        await registry.client.get("/v1/reference/service-lines", headers=registry.province)
    ).json()

    assert len(industries) == 22
    assert {"code": "power_batteries", "name": "动力电池", "aliases": ["电池"]} in industries
    high_end = {line["code"] for line in lines if line["high_end"]}
    assert high_end == {"headhunting", "assessment", "consulting", "hr_software"}
    assert next(line for line in lines if line["code"] == "headhunting")["aliases"][0] == "猎头"


async def test_reference_data_needs_a_token(registry: Registry) -> None:
    assert (await registry.client.get("/v1/reference/industries")).status_code == 401


async def test_the_openapi_document_lists_every_resource_with_problems(
    registry: Registry,
) -> None:
    doc = (await registry.client.get("/openapi.json")).json()

    for path in (
        "/v1/suppliers",
        "/v1/suppliers/{supplier_id}",
        "/v1/suppliers/{supplier_id}/listing",
        "/v1/suppliers/{supplier_id}/listing/decisions",
        "/v1/parks",
        "/v1/markets",
        "/v1/stations",
        "/v1/scenarios",
        "/v1/pairings",
        "/v1/platforms",
        "/v1/enterprises/{record_id}",
        "/v1/reference/divisions",
        "/v1/reference/industries",
        "/v1/reference/service-lines",
    ):
        assert path in doc["paths"], path
    patch = doc["paths"]["/v1/suppliers/{supplier_id}"]["patch"]
    assert {"412", "428"} <= set(patch["responses"])
    headers = {p["name"] for p in patch["parameters"] if p["in"] == "header"}
    assert "If-Match" in headers
    create = doc["paths"]["/v1/suppliers"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in create["parameters"] if p["in"] == "header"}


async def test_the_event_catalogue_lists_the_registry_s_events(registry: Registry) -> None:
    schemas = (await registry.client.get("/v1/events/catalogue")).json()

    prefix = "cn.sichuan.shulian.registry."
    assert {
        f"{prefix}supplier.registered.v1",
        f"{prefix}supplier.updated.v1",
        f"{prefix}supplier.listing_changed.v1",
        f"{prefix}park.created.v1",
        f"{prefix}market.updated.v1",
        f"{prefix}station.created.v1",
        f"{prefix}scenario.created.v1",
        f"{prefix}pairing.updated.v1",
        f"{prefix}platform.created.v1",
        f"{prefix}enterprise.registered.v1",
    } <= set(schemas)
    supplier = schemas[f"{prefix}supplier.registered.v1"]
    assert "contact" not in supplier["properties"]
    assert "contact_phone" not in supplier["properties"]
