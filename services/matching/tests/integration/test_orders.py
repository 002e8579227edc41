"""Orders through the API: placing (idempotent), refusals as problems, lists, If-Match."""

from __future__ import annotations

from shulian_common.schemas import Page
from shulian_common.testing.responses import assert_conforms
from shulian_matching.schemas import OrderRead
from shulian_matching.testing import CHENGDU, YIBIN, Matching, operator, place, service_order


async def test_placing_is_idempotent_and_publishes_the_snapshot(yibin: Matching) -> None:
    headers = {**operator(yibin, YIBIN), "Idempotency-Key": "order-1"}
    first = await yibin.client.post("/v1/orders", json=service_order(), headers=headers)
    again = await yibin.client.post("/v1/orders", json=service_order(), headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == again.json()["id"]
    assert first.headers["ETag"] == '"1"'
    [placed] = await yibin.events("order.placed")
    assert placed["topic"] == "shulian.matching.orders.v1"
    assert placed["data"]["status"] == "open"
    assert placed["data"]["city_code"] == YIBIN


async def test_refusals_are_problems_and_change_nothing(yibin: Matching) -> None:
    yibin_operator = operator(yibin, YIBIN)
    cases = [
        (service_order(county="510104"), yibin_operator, 403, "outside_node_scope"),
        (service_order(), operator(yibin, CHENGDU), 403, "not_placer"),
        (service_order(service_line=None), yibin_operator, 422, "invalid_order"),
        (service_order(slots=30), yibin_operator, 422, "invalid_order"),
        (service_order(visibility="listed_cities"), yibin_operator, 422, "invalid_order"),
        (service_order(occupation_code="4-99-99-99"), yibin_operator, 422, "invalid_occupation"),
        (service_order(county="511500"), yibin_operator, 422, "invalid_division"),
        (
            service_order(),
            yibin.auth("supplier", supplier_id="s", sub="s"),
            403,
            "role_not_allowed",
        ),
        (service_order(), yibin.auth("partner", sub="p"), 403, "read_only_principal"),
    ]
    for body, headers, status, code in cases:
        response = await yibin.client.post("/v1/orders", json=body, headers=headers)
        assert (response.status_code, response.json()["code"]) == (status, code), body
        assert response.headers["content-type"] == "application/problem+json"
    assert await yibin.count("orders") == 0
    assert await yibin.events() == []


async def test_an_edit_needs_the_current_etag(yibin: Matching) -> None:
    order = await place(yibin, service_order(), YIBIN)
    url = f"/v1/orders/{order['id']}"
    headers = operator(yibin, YIBIN)

    missing = await yibin.client.patch(url, json={"title": "新"}, headers=headers)
    changed = await yibin.client.patch(
        url, json={"title": "新"}, headers={**headers, "If-Match": '"1"'}
    )
    stale = await yibin.client.patch(
        url, json={"title": "旧"}, headers={**headers, "If-Match": '"1"'}
    )

    assert missing.status_code == 428
    assert (changed.status_code, changed.headers["ETag"]) == (200, '"2"')
    assert changed.json()["terms_version"] == 1  # a title is not a term
    assert stale.status_code == 412


async def test_lists_filter_by_status_and_kind(yibin: Matching) -> None:
    first = await place(yibin, service_order(), YIBIN)
    await place(yibin, service_order(), YIBIN)
    cancelled = await yibin.client.post(
        f"/v1/orders/{first['id']}/cancel", headers={**operator(yibin, YIBIN), "If-Match": '"1"'}
    )
    assert cancelled.json()["status"] == "cancelled"

    open_ = await yibin.client.get("/v1/orders?status=open&kind=service", headers=yibin.province)
    page = await yibin.client.get("/v1/orders?limit=1", headers=yibin.province)

    assert len(open_.json()["items"]) == 1
    assert page.json()["next_cursor"] is not None
    # Serialised from the rows without a model: exactly what OrderRead would render.
    for listed in (open_, page):
        assert_conforms(Page[OrderRead], listed.content)
    unknown = await yibin.client.get("/v1/orders/nope", headers=yibin.province)
    assert unknown.status_code == 404


async def test_lists_filter_by_city_under_the_name_registry_and_events_use(yibin: Matching) -> None:
    placed = await place(yibin, service_order("511502"), YIBIN)

    async def ids(**params: str) -> list[str]:
        response = await yibin.client.get("/v1/orders", params=params, headers=yibin.province)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids(city=YIBIN) == [placed["id"]]
    assert await ids(city=CHENGDU) == []
    # The former name still filters the same way; both names together widen the filter.
    assert await ids(city_code=YIBIN) == [placed["id"]]
    assert await ids(city_code=CHENGDU) == []
    assert await ids(city=CHENGDU, city_code=YIBIN) == [placed["id"]]
    for odd in ("abc", "5101", "51010000"):
        refused = await yibin.client.get("/v1/orders", params={"city": odd}, headers=yibin.province)
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "validation_error"
        assert refused.json()["errors"][0]["loc"][:2] == ["query", "city"]
