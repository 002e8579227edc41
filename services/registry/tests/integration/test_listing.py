"""The key-directory listing workflow through the API: steps, deciders, refusals, history."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shulian_common.auth import Role
from shulian_registry.testing import Registry, register, supplier_body

APPLICATION = {"industries": ["power_batteries"], "fields": ["recruitment"], "reason": "申请入库"}


@pytest.fixture
async def supplier(registry: Registry) -> dict[str, Any]:
    """A Yibin supplier (翠屏区) that has not applied yet."""
    body = supplier_body(
        "511502",
        service_lines=["recruitment", "headhunting"],
        industries=["power_batteries", "crystalline_pv"],
    )
    return await register(registry, body)


def _listing(supplier: dict[str, Any]) -> str:
    return f"/v1/suppliers/{supplier['id']}/listing"


async def _decide(
    registry: Registry,
    supplier: dict[str, Any],
    action: str,
    headers: dict[str, str],
    reason: str | None = None,
) -> httpx.Response:
    return await registry.client.post(
        f"{_listing(supplier)}/decisions",
        json={"action": action, "reason": reason},
        headers=headers,
    )


async def _status(registry: Registry, supplier: dict[str, Any]) -> str:
    response = await registry.client.get(_listing(supplier), headers=registry.province)
    status: str = response.json()["status"]
    return status


async def test_the_whole_workflow_keeps_who_decided_when_and_why(
    registry: Registry, supplier: dict[str, Any]
) -> None:
    me = registry.auth(Role.SUPPLIER, supplier_id=supplier["id"], sub="firm-account")
    yibin = registry.auth(Role.CITY_OPERATOR, "511500", sub="yibin-ops")

    applied = await registry.client.post(_listing(supplier), json=APPLICATION, headers=me)
    assert applied.status_code == 201
    assert applied.json()["status"] == "applied"
    assert applied.json()["status_label"] == "已申请"
    steps = [
        ("review", yibin, None),
        ("approve", yibin, "材料齐全"),
        ("suspend", registry.province, "年度核验异常"),
        ("reinstate", yibin, "整改到位"),
        ("delist", yibin, "主动申请退出"),
    ]
    for action, headers, reason in steps:
        response = await _decide(registry, supplier, action, headers, reason)
        assert response.status_code == 201, response.text
    again = await registry.client.post(_listing(supplier), json=APPLICATION, headers=me)
    assert again.json()["status"] == "applied"

    listing = (await registry.client.get(_listing(supplier), headers=registry.province)).json()
    history = listing["history"]
    assert [s["action"] for s in history] == [
        "apply", "review", "approve", "suspend", "reinstate", "delist", "apply",
    ]  # fmt: skip
    assert [s["to_status"] for s in history] == [
        "applied", "under_review", "listed", "suspended", "listed", "delisted", "applied",
    ]  # fmt: skip
    assert [s["seq"] for s in history] == list(range(1, 8))
    assert history[0]["decided_by"] == "firm-account"
    assert history[0]["decided_by_role"] == "supplier"
    assert history[2]["decided_by"] == "yibin-ops"
    assert history[2]["decided_by_node"] == "511500"
    assert history[3]["decided_by_role"] == "province_admin"
    assert history[3]["reason"] == "年度核验异常"
    assert all(s["decided_at"] for s in history)
    assert listing["industries"] == ["power_batteries"]
    assert listing["fields"] == ["recruitment"]
    events = await registry.events("supplier.listing_changed")
    assert [e["data"]["listing_status"] for e in events] == [s["to_status"] for s in history]
    assert [e["data"]["decision"]["action"] for e in events] == [s["action"] for s in history]
    assert {e["key"] for e in events} == {supplier["id"]}
    assert events[1]["topic"] == "shulian.registry.suppliers.v1"


async def test_only_the_owner_city_s_operators_or_the_province_decide(
    registry: Registry, supplier: dict[str, Any]
) -> None:
    await registry.client.post(_listing(supplier), json=APPLICATION, headers=registry.province)
    refused = {
        "its county operator": registry.auth(Role.COUNTY_OPERATOR, "511502"),
        "another city": registry.auth(Role.CITY_OPERATOR, "510100"),
        "the supplier itself": registry.auth(Role.SUPPLIER, supplier_id=supplier["id"]),
        "an enterprise": registry.auth(Role.ENTERPRISE),
    }
    for who, headers in refused.items():
        response = await _decide(registry, supplier, "review", headers)
        assert (response.status_code, response.json()["code"]) == (403, "not_decider"), who
    partner = await _decide(registry, supplier, "review", registry.auth(Role.PARTNER))
    assert (partner.status_code, partner.json()["code"]) == (403, "read_only_principal")
    assert await _status(registry, supplier) == "applied"
    assert len(await registry.events("supplier.listing_changed")) == 1

    yibin = await _decide(registry, supplier, "review", registry.auth(Role.CITY_OPERATOR, "511500"))
    province = await _decide(registry, supplier, "approve", registry.province)
    assert (yibin.status_code, province.status_code) == (201, 201)
    assert await _status(registry, supplier) == "listed"


async def test_illegal_transitions_conflict_and_change_nothing(
    registry: Registry, supplier: dict[str, Any]
) -> None:
    early = await _decide(registry, supplier, "approve", registry.province)
    assert (early.status_code, early.json()["code"]) == (409, "illegal_transition")
    assert early.json()["listing_status"] == "not_applied"

    await registry.client.post(_listing(supplier), json=APPLICATION, headers=registry.province)
    twice = await registry.client.post(
        _listing(supplier), json=APPLICATION, headers=registry.province
    )
    reinstate = await _decide(registry, supplier, "reinstate", registry.province)
    apply_as_decision = await _decide(registry, supplier, "apply", registry.province)

    assert (twice.status_code, twice.json()["code"]) == (409, "illegal_transition")
    assert (reinstate.status_code, reinstate.json()["code"]) == (409, "illegal_transition")
    assert apply_as_decision.status_code == 422
    listing = (await registry.client.get(_listing(supplier), headers=registry.province)).json()
    assert listing["status"] == "applied"
    assert len(listing["history"]) == 1
    assert len(await registry.events("supplier.listing_changed")) == 1


async def test_refusing_suspending_and_delisting_need_a_reason(
    registry: Registry, supplier: dict[str, Any]
) -> None:
    await registry.client.post(_listing(supplier), json=APPLICATION, headers=registry.province)

    silent = await _decide(registry, supplier, "reject", registry.province)
    blank = await _decide(registry, supplier, "reject", registry.province, reason="  ")
    explained = await _decide(registry, supplier, "reject", registry.province, reason="资质不符")

    assert (silent.status_code, silent.json()["code"]) == (422, "reason_required")
    assert blank.status_code == 422
    assert explained.status_code == 201
    assert explained.json()["status"] == "rejected"


async def test_an_application_covers_only_what_the_supplier_declares(
    registry: Registry, supplier: dict[str, Any]
) -> None:
    outside = {"industries": ["lantern_making"], "fields": ["recruitment"]}
    empty = {"industries": [], "fields": ["recruitment"]}

    mismatch = await registry.client.post(
        _listing(supplier), json=outside, headers=registry.province
    )
    nothing = await registry.client.post(_listing(supplier), json=empty, headers=registry.province)

    assert (mismatch.status_code, mismatch.json()["code"]) == (422, "listing_scope_mismatch")
    assert mismatch.json()["industries"] == ["lantern_making"]
    assert nothing.status_code == 422
    assert await _status(registry, supplier) == "not_applied"


async def test_a_supplier_applies_only_for_itself(
    registry: Registry, supplier: dict[str, Any]
) -> None:
    other = registry.auth(Role.SUPPLIER, supplier_id="another-supplier")
    outsider = registry.auth(Role.COUNTY_OPERATOR, "510104")

    by_other = await registry.client.post(_listing(supplier), json=APPLICATION, headers=other)
    by_outsider = await registry.client.post(_listing(supplier), json=APPLICATION, headers=outsider)
    by_county = await registry.client.post(
        _listing(supplier), json=APPLICATION, headers=registry.auth(Role.COUNTY_OPERATOR, "511502")
    )

    assert (by_other.status_code, by_other.json()["code"]) == (403, "not_owner")
    assert (by_outsider.status_code, by_outsider.json()["code"]) == (403, "outside_scope")
    assert by_county.status_code == 201


async def test_a_stale_if_match_on_a_decision_is_refused(
    registry: Registry, supplier: dict[str, Any]
) -> None:
    await registry.client.post(_listing(supplier), json=APPLICATION, headers=registry.province)
    read = await registry.client.get(_listing(supplier), headers=registry.province)
    await _decide(registry, supplier, "review", registry.province)

    stale = await registry.client.post(
        f"{_listing(supplier)}/decisions",
        json={"action": "approve"},
        headers={**registry.province, "If-Match": read.headers["etag"]},
    )

    assert (stale.status_code, stale.json()["code"]) == (412, "precondition_failed")
    assert await _status(registry, supplier) == "under_review"


async def test_a_retried_decision_with_its_idempotency_key_is_not_taken_twice(
    registry: Registry, supplier: dict[str, Any]
) -> None:
    await registry.client.post(_listing(supplier), json=APPLICATION, headers=registry.province)
    headers = {**registry.province, "Idempotency-Key": "review-once"}

    first = await registry.client.post(
        f"{_listing(supplier)}/decisions", json={"action": "review"}, headers=headers
    )
    retry = await registry.client.post(
        f"{_listing(supplier)}/decisions", json={"action": "review"}, headers=headers
    )

    assert first.status_code == retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert len(await registry.events("supplier.listing_changed")) == 2
