"""Suppliers through the API: registration, refusals, concurrency, ownership and masking."""

from __future__ import annotations

import asyncio

from shulian_common.auth import Role
from shulian_common.reference import uscc_check_character
from shulian_registry.testing import NodeFactory, Registry, register, supplier_body


async def _suppliers(node: Registry) -> list[dict[str, object]]:
    response = await node.client.get("/v1/suppliers?limit=100", headers=node.province)
    assert response.status_code == 200
    items: list[dict[str, object]] = response.json()["items"]
    return items


def _problem(response: object, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


async def test_registration_returns_the_supplier_with_derived_facts_and_publishes_it(
    registry: Registry,
) -> None:
    body = supplier_body("511502", service_lines=["recruitment", "headhunting"])
    response = await registry.client.post("/v1/suppliers", json=body, headers=registry.province)

    assert response.status_code == 201
    supplier = response.json()
    assert response.headers["location"] == f"/v1/suppliers/{supplier['id']}"
    assert response.headers["etag"] == '"1"'
    assert supplier["uscc"] == body["uscc"]
    assert supplier["uscc_region_code"] == "511502"
    assert supplier["uscc_region_name"] == "翠屏区"
    assert (supplier["city_code"], supplier["city_name"], supplier["region"]) == (
        "511500",
        "宜宾市",
        "south",
    )
    assert supplier["high_end"] is True  # headhunting is a mid-to-high-end line
    assert supplier["listing_status"] == "not_applied"
    assert supplier["owner_node"] == "510000"
    [event] = await registry.events("supplier.registered")
    assert event["key"] == supplier["id"]
    assert event["topic"] == "shulian.registry.suppliers.v1"
    assert event["data"]["service_lines"] == ["recruitment", "headhunting"]


async def test_a_wrong_uscc_check_character_is_refused_and_nothing_is_created(
    registry: Registry,
) -> None:
    body = supplier_body("510104")
    first17 = body["uscc"][:17]
    wrong = next(c for c in "0123456789ABCDEFGH" if c != uscc_check_character(first17))
    body["uscc"] = first17 + wrong

    response = await registry.client.post("/v1/suppliers", json=body, headers=registry.province)

    _problem(response, 422, "invalid_uscc")
    assert response.json()["reason"] == "check_character"
    assert await _suppliers(registry) == []
    assert await registry.events() == []


async def test_an_operator_cannot_register_a_supplier_outside_its_division(
    registry: Registry,
) -> None:
    chengdu = registry.auth(Role.CITY_OPERATOR, "510100")
    jinjiang = registry.auth(Role.COUNTY_OPERATOR, "510104")

    yibin = await registry.client.post(
        "/v1/suppliers", json=supplier_body("511502"), headers=chengdu
    )
    qingyang = await registry.client.post(
        "/v1/suppliers", json=supplier_body("510105"), headers=jinjiang
    )

    _problem(yibin, 403, "outside_scope")
    _problem(qingyang, 403, "outside_scope")
    assert await _suppliers(registry) == []
    assert await registry.events() == []
    own = await registry.client.post("/v1/suppliers", json=supplier_body("510104"), headers=chengdu)
    assert own.status_code == 201


async def test_a_city_node_refuses_records_outside_its_jurisdiction(
    node_registry: NodeFactory,
) -> None:
    async with node_registry("510100") as chengdu_node:
        response = await chengdu_node.client.post(
            "/v1/suppliers", json=supplier_body("511502"), headers=chengdu_node.province
        )
        _problem(response, 403, "outside_node_scope")
        assert await _suppliers(chengdu_node) == []
        created = await register(chengdu_node, supplier_body("510104"))
        assert created["owner_node"] == "510100"


async def test_a_duplicate_uscc_conflicts(registry: Registry) -> None:
    body = supplier_body("510104")
    await register(registry, body)

    again = await registry.client.post(
        "/v1/suppliers", json={**body, "name": "另一家公司"}, headers=registry.province
    )

    _problem(again, 409, "duplicate_uscc")
    assert len(await _suppliers(registry)) == 1


async def test_an_idempotent_create_replays_and_refuses_a_changed_body(registry: Registry) -> None:
    body = supplier_body("510104")
    headers = {**registry.province, "Idempotency-Key": "create-1"}

    first = await registry.client.post("/v1/suppliers", json=body, headers=headers)
    replay = await registry.client.post("/v1/suppliers", json=body, headers=headers)
    changed = await registry.client.post(
        "/v1/suppliers", json={**body, "name": "改了名字的公司"}, headers=headers
    )

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    _problem(changed, 422, "idempotency_key_reused")
    assert len(await _suppliers(registry)) == 1
    assert len(await registry.events("supplier.registered")) == 1


async def test_a_refused_create_leaves_its_idempotency_key_unused(registry: Registry) -> None:
    taken = await register(registry, supplier_body("510104"))
    headers = {**registry.province, "Idempotency-Key": "retry-after-409"}
    clash = {**supplier_body("510104"), "uscc": taken["uscc"]}

    refused = await registry.client.post("/v1/suppliers", json=clash, headers=headers)
    fixed = await registry.client.post(
        "/v1/suppliers", json=supplier_body("510104"), headers=headers
    )

    _problem(refused, 409, "duplicate_uscc")
    assert fixed.status_code == 201, fixed.text
    assert "idempotent-replayed" not in fixed.headers
    assert len(await _suppliers(registry)) == 2


async def test_the_same_idempotency_key_of_another_caller_is_another_request(
    registry: Registry,
) -> None:
    key = {"Idempotency-Key": "shared-key"}
    chengdu = {**registry.auth(Role.CITY_OPERATOR, "510100"), **key}
    first = await registry.client.post(
        "/v1/suppliers", json=supplier_body("510104"), headers={**registry.province, **key}
    )
    second = await registry.client.post(
        "/v1/suppliers", json=supplier_body("510105"), headers=chengdu
    )

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


async def test_updates_need_a_current_if_match(registry: Registry) -> None:
    supplier = await register(registry, supplier_body("510104"))
    url = f"/v1/suppliers/{supplier['id']}"
    change = {"name": "锦江新名字人力资源有限公司"}

    missing = await registry.client.patch(url, json=change, headers=registry.province)
    stale = await registry.client.patch(
        url, json=change, headers={**registry.province, "If-Match": '"7"'}
    )

    _problem(missing, 428, "precondition_required")
    _problem(stale, 412, "precondition_failed")
    unchanged = await registry.client.get(url, headers=registry.province)
    assert unchanged.json()["name"] == supplier["name"]
    assert unchanged.headers["etag"] == '"1"'
    assert await registry.events("supplier.updated") == []

    current = await registry.client.patch(
        url, json=change, headers={**registry.province, "If-Match": unchanged.headers["etag"]}
    )
    assert current.status_code == 200
    assert current.json()["name"] == change["name"]
    assert current.headers["etag"] == '"2"'
    [event] = await registry.events("supplier.updated")
    assert event["data"]["name"] == change["name"]
    assert event["data"]["version"] == 2
    replayed_stale = await registry.client.patch(
        url, json={"name": "再改"}, headers={**registry.province, "If-Match": '"1"'}
    )
    _problem(replayed_stale, 412, "precondition_failed")


async def test_an_update_that_changes_nothing_publishes_nothing(registry: Registry) -> None:
    supplier = await register(registry, supplier_body("510104"))

    response = await registry.client.patch(
        f"/v1/suppliers/{supplier['id']}",
        json={"name": supplier["name"]},
        headers={**registry.province, "If-Match": '"1"'},
    )

    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    assert await registry.events("supplier.updated") == []


async def test_a_supplier_edits_its_own_profile_and_no_one_else_s(registry: Registry) -> None:
    mine = await register(registry, supplier_body("510104"))
    theirs = await register(registry, supplier_body("510105"))
    me = registry.auth(Role.SUPPLIER, supplier_id=mine["id"])
    change = {"description": "专注电子信息产业招聘", "service_lines": ["recruitment", "training"]}

    refused = await registry.client.patch(
        f"/v1/suppliers/{theirs['id']}", json=change, headers={**me, "If-Match": '"1"'}
    )
    allowed = await registry.client.patch(
        f"/v1/suppliers/{mine['id']}", json=change, headers={**me, "If-Match": '"1"'}
    )

    _problem(refused, 403, "not_owner")
    after = await registry.client.get(f"/v1/suppliers/{theirs['id']}", headers=registry.province)
    assert after.json()["description"] is None
    assert after.headers["etag"] == '"1"'
    assert allowed.status_code == 200
    assert allowed.json()["service_lines"] == ["recruitment", "training"]
    assert [e["key"] for e in await registry.events("supplier.updated")] == [mine["id"]]


async def test_read_only_roles_and_anonymous_callers_cannot_write(registry: Registry) -> None:
    supplier = await register(registry, supplier_body("510104"))
    url = f"/v1/suppliers/{supplier['id']}"
    change = {"name": "不该改的名字"}

    partner = registry.auth(Role.PARTNER)
    talent = registry.auth(Role.TALENT)
    enterprise = registry.auth(Role.ENTERPRISE)
    anonymous = await registry.client.post("/v1/suppliers", json=supplier_body("510104"))
    by_partner = await registry.client.patch(url, json=change, headers={**partner, "If-Match": "*"})
    by_talent = await registry.client.patch(url, json=change, headers={**talent, "If-Match": "*"})
    by_enterprise = await registry.client.post(
        "/v1/suppliers", json=supplier_body("510104"), headers=enterprise
    )

    _problem(anonymous, 401, "unauthorized")
    _problem(by_partner, 403, "read_only_principal")
    _problem(by_talent, 403, "read_only_role")
    _problem(by_enterprise, 403, "read_only_role")
    assert (await registry.client.get(url, headers=partner)).json()["name"] == supplier["name"]
    assert len(await _suppliers(registry)) == 1


async def test_contact_details_are_masked_unless_the_caller_owns_or_may_write_the_record(
    registry: Registry,
) -> None:
    supplier = await register(registry, supplier_body("510104"))
    url = f"/v1/suppliers/{supplier['id']}"
    plain = {"name": "王小明", "phone": "13800001234", "email": "wang@example.cn", "masked": False}
    masked = {"name": "王**", "phone": "138****1234", "email": "w***@example.cn", "masked": True}

    viewers = {
        "itself": (registry.auth(Role.SUPPLIER, supplier_id=supplier["id"]), plain),
        "its city": (registry.auth(Role.CITY_OPERATOR, "510100"), plain),
        "its county": (registry.auth(Role.COUNTY_OPERATOR, "510104"), plain),
        "another county": (registry.auth(Role.COUNTY_OPERATOR, "510105"), masked),
        "another city": (registry.auth(Role.CITY_OPERATOR, "511500"), masked),
        "another supplier": (registry.auth(Role.SUPPLIER, supplier_id="someone-else"), masked),
        "a partner": (registry.auth(Role.PARTNER), masked),
    }
    for viewer, (headers, expected) in viewers.items():
        one = (await registry.client.get(url, headers=headers)).json()
        listed = (await registry.client.get("/v1/suppliers", headers=headers)).json()["items"]
        assert one["contact"] == expected, viewer
        assert listed[0]["contact"] == expected, viewer
    for event in await registry.events():
        assert "13800001234" not in str(event["data"])
        assert "contact" not in event["data"]


async def test_bad_changes_are_refused_with_the_field_named(registry: Registry) -> None:
    supplier = await register(registry, supplier_body("510104"))
    headers = {**registry.province, "If-Match": '"1"'}
    url = f"/v1/suppliers/{supplier['id']}"

    null_name = await registry.client.patch(url, json={"name": None}, headers=headers)
    unknown_line = await registry.client.patch(
        url, json={"service_lines": ["fortune_telling"]}, headers=headers
    )
    uscc_change = await registry.client.patch(url, json={"uscc": "x"}, headers=headers)
    city_as_county = await registry.client.patch(
        url, json={"county_code": "510100"}, headers=headers
    )

    for response in (null_name, unknown_line, uscc_change):
        _problem(response, 422, "validation_error")
    _problem(city_as_county, 422, "invalid_division")
    assert null_name.json()["errors"][0]["loc"] == ["body", "name"]
    after = await registry.client.get(url, headers=registry.province)
    assert after.headers["etag"] == '"1"'


async def test_moving_a_supplier_out_of_the_operator_s_city_is_refused(registry: Registry) -> None:
    supplier = await register(registry, supplier_body("510104"))
    chengdu = {**registry.auth(Role.CITY_OPERATOR, "510100"), "If-Match": '"1"'}
    url = f"/v1/suppliers/{supplier['id']}"

    away = await registry.client.patch(url, json={"county_code": "511502"}, headers=chengdu)
    within = await registry.client.patch(url, json={"county_code": "510105"}, headers=chengdu)

    _problem(away, 403, "outside_scope")
    assert within.status_code == 200
    assert within.json()["county_name"] == "青羊区"
    searched = await registry.client.get("/v1/suppliers?county=510105", headers=chengdu)
    assert [s["id"] for s in searched.json()["items"]] == [supplier["id"]]
    assert (await registry.client.get("/v1/suppliers?county=510104", headers=chengdu)).json()[
        "items"
    ] == []


async def test_an_unknown_supplier_is_a_404_problem(registry: Registry) -> None:
    response = await registry.client.get("/v1/suppliers/nope", headers=registry.province)
    _problem(response, 404, "not_found")


async def test_of_two_simultaneous_changes_on_one_version_exactly_one_wins(
    registry: Registry,
) -> None:
    supplier = await register(registry, supplier_body("510104"))
    url = f"/v1/suppliers/{supplier['id']}"
    headers = {**registry.province, "If-Match": '"1"'}

    responses = await asyncio.gather(
        registry.client.patch(url, json={"name": "甲方案人力资源有限公司"}, headers=headers),
        registry.client.patch(url, json={"name": "乙方案人力资源有限公司"}, headers=headers),
    )

    assert sorted(r.status_code for r in responses) == [200, 412]
    [winner] = [r for r in responses if r.status_code == 200]
    after = await registry.client.get(url, headers=registry.province)
    assert after.json()["name"] == winner.json()["name"]
    assert after.headers["etag"] == '"2"'
    assert len(await registry.events("supplier.updated")) == 1


async def test_a_contact_patch_merges_as_rfc_7396_says(registry: Registry) -> None:
    supplier = await register(registry, supplier_body("510104"))
    url = f"/v1/suppliers/{supplier['id']}"

    async def patch(contact: object, version: int) -> dict[str, object]:
        headers = {**registry.province, "If-Match": f'"{version}"'}
        response = await registry.client.patch(url, json={"contact": contact}, headers=headers)
        assert response.status_code == 200, response.text
        shown: dict[str, object] = response.json()["contact"]
        return shown

    phone_only = await patch({"phone": "13900005678"}, 1)
    email_cleared = await patch({"email": None}, 2)
    same_again = await patch({"name": "王小明"}, 3)
    all_cleared = await patch(None, 3)

    assert phone_only == {
        "name": "王小明",
        "phone": "13900005678",
        "email": "wang@example.cn",
        "masked": False,
    }
    assert email_cleared == {**phone_only, "email": None}
    assert same_again == email_cleared  # nothing changed: version 3 stays current
    assert all_cleared == {"name": None, "phone": None, "email": None, "masked": False}


async def test_a_blank_name_and_absurd_figures_are_refused_and_nothing_changes(
    registry: Registry,
) -> None:
    supplier = await register(registry, supplier_body("510104"))
    url = f"/v1/suppliers/{supplier['id']}"
    headers = {**registry.province, "If-Match": '"1"'}
    figure = {"year": 2024, "service_line": "recruitment", "revenue_yuan": 10**30}

    blank_create = await registry.client.post(
        "/v1/suppliers", json=supplier_body("510104", name=" \t　 "), headers=registry.province
    )
    blank_patch = await registry.client.patch(url, json={"name": "   "}, headers=headers)
    absurd_create = await registry.client.post(
        "/v1/suppliers", json=supplier_body("510104", figures=[figure]), headers=registry.province
    )
    absurd_trade = {**figure, "revenue_yuan": 1_000_000, "trade_volume_yuan": 10**14}
    absurd_patch = await registry.client.patch(
        url, json={"figures": [absurd_trade]}, headers=headers
    )
    largest = {**figure, "revenue_yuan": 10**13}
    plausible = await registry.client.patch(url, json={"figures": [largest]}, headers=headers)
    padded = await registry.client.patch(
        url, json={"name": "  锦江人力资源有限公司 "}, headers={**headers, "If-Match": '"2"'}
    )

    for response in (blank_create, blank_patch, absurd_create, absurd_patch):
        _problem(response, 422, "validation_error")
    assert blank_patch.json()["errors"][0]["loc"] == ["body", "name"]
    assert absurd_create.json()["errors"][0]["loc"][:2] == ["body", "figures"]
    assert plausible.status_code == 200, plausible.text
    assert padded.json()["name"] == "锦江人力资源有限公司"
    assert len(await _suppliers(registry)) == 1
