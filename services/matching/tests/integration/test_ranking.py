"""Candidates ranked with an explainable score: terms, weights, what matched and what is missing."""

from __future__ import annotations

import pytest

from shulian_matching.testing import YIBIN, Matching, place, publish, service_order, supplier_event

pytestmark = pytest.mark.both_buses  # each test over the local log and over Kafka

LINE, INDUSTRY = "recruitment", "power_batteries"


async def test_eligible_suppliers_are_ranked_with_their_explanations(yibin: Matching) -> None:
    local = supplier_event(county="511502", industries=(INDUSTRY,), name="宜宾本地机构")
    south = supplier_event(county="510502", industries=(INDUSTRY,), name="泸州机构")
    plain = supplier_event(county="510104", industries=(INDUSTRY,), name="成都机构")
    no_industry = supplier_event(county="511502")
    unlisted = supplier_event(county="511502", industries=(INDUSTRY,), listing_status="suspended")
    other_line = supplier_event(
        county="511502", service_lines=("training",), industries=(INDUSTRY,)
    )
    await publish(yibin, local, south, plain, no_industry, unlisted, other_line)
    await yibin.drain()
    order = await place(yibin, service_order(industry=INDUSTRY, visibility="province"), YIBIN)

    response = await yibin.client.get(
        f"/v1/orders/{order['id']}/candidates", headers=yibin.province
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["eligible"] == 3
    assert [c["name"] for c in body["items"]] == ["宜宾本地机构", "泸州机构", "成都机构"]
    assert [c["score"] for c in body["items"]] == [1.0, 0.8, 0.7]
    chengdu = body["items"][2]
    assert chengdu["missing"] == ["与订单同城", "与订单同属一个经济区"]
    assert "提供所需服务业态" in chengdu["matched"]
    assert sum(t["points"] for t in chengdu["terms"]) == chengdu["score"]
    assert {t["term"]: t["weight"] for t in chengdu["terms"]} == body["weights"]


async def test_an_own_city_order_ranks_only_its_citys_suppliers(yibin: Matching) -> None:
    local = supplier_event(county="511502")
    far = supplier_event(county="510104")
    await publish(yibin, local, far)
    await yibin.drain()
    order = await place(yibin, service_order(visibility="own_city"), YIBIN)

    body = (
        await yibin.client.get(f"/v1/orders/{order['id']}/candidates", headers=yibin.province)
    ).json()

    assert [c["id"] for c in body["items"]] == [local.partitionkey]
