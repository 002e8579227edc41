"""The support network through the API: parks, markets, stations, scenarios, pairings,
platforms and key enterprises — their writes, rules, events and lists."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from shulian_common.auth import Role
from shulian_registry.testing import Registry, new_uscc, register, supplier_body

Body = Callable[[Registry], Awaitable[dict[str, Any]]]


async def _enterprise(registry: Registry) -> dict[str, Any]:
    response = await registry.client.post(
        "/v1/enterprises", json=await _enterprise_body(registry), headers=registry.province
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _park_body(registry: Registry) -> dict[str, Any]:
    return {
        "name": "中国成都人力资源服务产业园",
        "level": "national",
        "county_code": "510107",
        "industries": ["electronic_information"],
        "linked_platforms": [{"name": "天府软件园", "kind": "产业功能平台"}],
        "key_service_objects": [
            {"name": "成都某电子信息企业", "industry": "electronic_information"}
        ],
    }


async def _market_body(registry: Registry) -> dict[str, Any]:
    return {
        "name": "德阳重大装备制造人力资源市场",
        "kind": "professional_market",
        "level": "provincial",
        "county_code": "510603",
        "industries": ["major_equipment"],
        "linked_platforms": [{"name": "德阳经开区"}],
    }


async def _station_body(registry: Registry) -> dict[str, Any]:
    supplier = await register(registry, supplier_body("511502"))
    return {
        "name": "宜宾三江新区人力资源服务工作站",
        "kind": "workstation",
        "host_platform": "宜宾三江新区",
        "county_code": "511502",
        "supplier_id": supplier["id"],
        "opened_on": "2024-03-01",
    }


async def _scenario_body(registry: Registry) -> dict[str, Any]:
    supplier = await register(registry, supplier_body("511502"))
    enterprise = await _enterprise(registry)
    return {
        "title": "驻动力电池龙头企业一站式用工服务",
        "supplier_id": supplier["id"],
        "host_kind": "key_enterprise",
        "host_name": enterprise["name"],
        "enterprise_id": enterprise["id"],
        "mode": "one_stop",
        "county_code": "511502",
        "industries": ["power_batteries"],
        "service_lines": ["recruitment"],
    }


async def _pairing_body(registry: Registry) -> dict[str, Any]:
    supplier = await register(registry, supplier_body("510104"))
    return {
        "kind": "supplier_area",
        "supplier_id": supplier["id"],
        "division_code": "513431",  # 昭觉县
        "area_kinds": ["ethnic", "lifted_from_poverty"],
    }


async def _platform_body(registry: Registry) -> dict[str, Any]:
    return {
        "name": "中国成都人力资源服务产业园线上园",
        "kind": "online_platform",
        "operator_kind": "node",
        "division_code": "510100",
        "url": "https://example.cn/online-park",
    }


async def _enterprise_body(registry: Registry) -> dict[str, Any]:
    return {
        "name": "宜宾动力电池示范企业有限公司",
        "uscc": new_uscc("511502"),
        "county_code": "511502",
        "industries": ["power_batteries"],
    }


# path, the created event, body factory, a change, the city of the record
KINDS: list[tuple[str, str, Body, dict[str, Any], str]] = [
    ("parks", "park.created", _park_body, {"level": "provincial"}, "510100"),
    ("markets", "market.created", _market_body, {"kind": "state_owned_platform"}, "510600"),
    ("stations", "station.created", _station_body, {"kind": "service_net"}, "511500"),
    ("scenarios", "scenario.created", _scenario_body, {"mode": "point_to_point"}, "511500"),
    ("pairings", "pairing.created", _pairing_body, {"area_kinds": ["ethnic"]}, "513400"),
    ("platforms", "platform.created", _platform_body, {"kind": "website"}, "510100"),
    (
        "enterprises",
        "enterprise.registered",
        _enterprise_body,
        {"industries": ["crystalline_pv"]},
        "511500",
    ),
]


@pytest.mark.parametrize(("path", "created_event", "make", "change", "city"), KINDS)
async def test_each_record_is_created_read_changed_listed_and_published(
    registry: Registry,
    path: str,
    created_event: str,
    make: Body,
    change: dict[str, Any],
    city: str,
) -> None:
    body = await make(registry)
    before = len(await registry.events())

    created = await registry.client.post(f"/v1/{path}", json=body, headers=registry.province)
    assert created.status_code == 201, created.text
    record = created.json()
    url = f"/v1/{path}/{record['id']}"
    assert created.headers["location"] == url
    assert record["city_code"] == city
    assert record["owner_node"] == "510000"

    read = await registry.client.get(url, headers=registry.auth(Role.PARTNER))
    assert read.json() == record
    assert read.headers["etag"] == '"1"'

    stale = await registry.client.patch(
        url, json=change, headers={**registry.province, "If-Match": '"9"'}
    )
    missing = await registry.client.patch(url, json=change, headers=registry.province)
    changed = await registry.client.patch(
        url, json=change, headers={**registry.province, "If-Match": '"1"'}
    )
    assert (stale.status_code, missing.status_code, changed.status_code) == (412, 428, 200)
    for field, value in change.items():
        assert changed.json()[field] == value
    assert changed.headers["etag"] == '"2"'

    listed = await registry.client.get(f"/v1/{path}?city={city}", headers=registry.province)
    elsewhere = await registry.client.get(f"/v1/{path}?city=513300", headers=registry.province)
    assert record["id"] in [item["id"] for item in listed.json()["items"]]
    assert elsewhere.json()["items"] == []

    events = (await registry.events())[before:]
    mine = [e for e in events if e["key"] == record["id"]]
    aggregate = created_event.split(".")[0]
    assert [e["type"] for e in mine] == [f"{created_event}.v1", f"{aggregate}.updated.v1"]
    assert {e["topic"] for e in mine} <= {
        "shulian.registry.network.v1",
        "shulian.registry.enterprises.v1",
    }
    assert mine[-1]["data"]["version"] == 2


async def test_parks_report_the_counts_targets_are_measured_by(registry: Registry) -> None:
    body = await _park_body(registry)
    body["linked_platforms"] = [{"name": f"平台{i}"} for i in range(52)]
    body["key_service_objects"] = [{"name": f"重点企业{i}"} for i in range(505)]

    park = (await registry.client.post("/v1/parks", json=body, headers=registry.province)).json()

    assert (park["linked_platform_count"], park["key_service_object_count"]) == (52, 505)
    [event] = await registry.events("park.created")
    assert len(event["data"]["key_service_objects"]) == 505


async def test_sharing_stations_are_chengdu_s_one_per_county(registry: Registry) -> None:
    def station(county: str, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "kind": "sharing_station",
            "host_platform": "区人才服务中心",
            "county_code": county,
        }

    first = await registry.client.post(
        "/v1/stations", json=station("510104", "锦江共享站"), headers=registry.province
    )
    second = await registry.client.post(
        "/v1/stations", json=station("510104", "锦江第二共享站"), headers=registry.province
    )
    yibin = await registry.client.post(
        "/v1/stations", json=station("511502", "翠屏共享站"), headers=registry.province
    )
    neighbour = await registry.client.post(
        "/v1/stations", json=station("510105", "青羊共享站"), headers=registry.province
    )

    assert first.status_code == 201
    assert (second.status_code, second.json()["code"]) == (409, "sharing_station_exists")
    assert (yibin.status_code, yibin.json()["code"]) == (422, "sharing_station_outside_chengdu")
    assert neighbour.status_code == 201
    kinds = await registry.client.get(
        "/v1/stations?kind=sharing_station&county=510104", headers=registry.province
    )
    assert [s["name"] for s in kinds.json()["items"]] == ["锦江共享站"]


async def test_records_must_fit_together(registry: Registry) -> None:
    supplier = await register(registry, supplier_body("510104"))
    scenario = await _scenario_body(registry)
    cases = {
        "a scenario of an unknown supplier": (
            "/v1/scenarios",
            {**scenario, "supplier_id": "no-such-supplier"},
            "unknown_reference",
        ),
        "a scenario in an unknown enterprise": (
            "/v1/scenarios",
            {**scenario, "enterprise_id": "no-such-enterprise"},
            "unknown_reference",
        ),
        "a pairing without kinds of area": (
            "/v1/pairings",
            {"kind": "supplier_area", "supplier_id": supplier["id"], "division_code": "513431"},
            "inconsistent_record",
        ),
        "a pairing with a city for its county": (
            "/v1/pairings",
            {
                "kind": "supplier_area",
                "supplier_id": supplier["id"],
                "division_code": "513400",
                "area_kinds": ["ethnic"],
            },
            "invalid_division",
        ),
        "an association pairing without its associations": (
            "/v1/pairings",
            {
                "kind": "association",
                "division_code": "510000",
                "hr_association": "省人力资源服务行业协会",
            },
            "inconsistent_record",
        ),
        "a supplier platform without its supplier": (
            "/v1/platforms",
            {
                "name": "某APP",
                "kind": "app",
                "operator_kind": "supplier",
                "division_code": "510104",
            },
            "inconsistent_record",
        ),
        "an enterprise with a wrong USCC": (
            "/v1/enterprises",
            {"name": "某企业", "uscc": "91510104MA0000000X", "county_code": "510104"},
            "invalid_uscc",
        ),
    }
    for case, (path, body, code) in cases.items():
        response = await registry.client.post(path, json=body, headers=registry.province)
        assert (response.status_code, response.json()["code"]) == (422, code), case
    for path in ("/v1/scenarios", "/v1/pairings", "/v1/platforms"):
        assert (await registry.client.get(path, headers=registry.province)).json()["items"] == []


async def test_an_association_pairing_may_belong_to_the_province(registry: Registry) -> None:
    body = {
        "kind": "association",
        "division_code": "510000",
        "hr_association": "四川省人力资源服务行业协会",
        "industry_association": "四川省酒业协会",
        "industries": ["liquor_food"],
    }

    created = await registry.client.post("/v1/pairings", json=body, headers=registry.province)
    by_city = await registry.client.post(
        "/v1/pairings", json=body, headers=registry.auth(Role.CITY_OPERATOR, "510100")
    )

    assert created.status_code == 201
    assert created.json()["city_code"] is None
    assert (by_city.status_code, by_city.json()["code"]) == (403, "outside_scope")


async def test_a_duplicate_enterprise_uscc_conflicts(registry: Registry) -> None:
    body = await _enterprise_body(registry)
    await registry.client.post("/v1/enterprises", json=body, headers=registry.province)

    again = await registry.client.post(
        "/v1/enterprises", json={**body, "name": "另一家企业"}, headers=registry.province
    )

    assert (again.status_code, again.json()["code"]) == (409, "duplicate_uscc")


async def test_operators_write_network_records_only_in_their_division(registry: Registry) -> None:
    chengdu = registry.auth(Role.CITY_OPERATOR, "510100")
    body = await _market_body(registry)  # a Deyang market

    away = await registry.client.post("/v1/markets", json=body, headers=chengdu)
    supplier = registry.auth(Role.SUPPLIER, supplier_id="x")
    by_supplier = await registry.client.post("/v1/markets", json=body, headers=supplier)
    deyang = await registry.client.post(
        "/v1/markets", json=body, headers=registry.auth(Role.CITY_OPERATOR, "510600")
    )
    moved = await registry.client.patch(
        f"/v1/markets/{deyang.json()['id']}",
        json={"county_code": "510104"},
        headers={**registry.auth(Role.CITY_OPERATOR, "510600"), "If-Match": '"1"'},
    )

    assert (away.status_code, away.json()["code"]) == (403, "outside_scope")
    assert (by_supplier.status_code, by_supplier.json()["code"]) == (403, "read_only_role")
    assert deyang.status_code == 201
    assert (moved.status_code, moved.json()["code"]) == (403, "outside_scope")


async def test_an_unsupported_filter_is_a_problem_not_ignored(registry: Registry) -> None:
    response = await registry.client.get(
        "/v1/enterprises?level=national", headers=registry.province
    )
    assert (response.status_code, response.json()["code"]) == (400, "unsupported_filter")


async def test_an_idempotent_network_create_replays(registry: Registry) -> None:
    body = await _platform_body(registry)
    headers = {**registry.province, "Idempotency-Key": "platform-1"}

    first = await registry.client.post("/v1/platforms", json=body, headers=headers)
    retry = await registry.client.post("/v1/platforms", json=body, headers=headers)

    assert first.json()["id"] == retry.json()["id"]
    assert retry.headers["idempotent-replayed"] == "true"
    assert (
        len((await registry.client.get("/v1/platforms", headers=registry.province)).json()["items"])
        == 1
    )
