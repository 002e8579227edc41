"""An order placed on one node appears on another and is grabbed from there; the owner decides."""

from __future__ import annotations

import pytest

from shulian_matching.testing import (
    CHENGDU,
    LESHAN,
    YIBIN,
    NodeStarter,
    cancel,
    grab_as,
    grab_status,
    place,
    publish,
    service_order,
    supplier,
    supplier_event,
)

pytestmark = pytest.mark.both_buses  # each test over the local log and over Kafka


async def test_an_order_placed_in_yibin_is_seen_and_grabbed_from_chengdu(
    start_node: NodeStarter,
) -> None:
    async with start_node(YIBIN) as yibin, start_node(CHENGDU) as chengdu:
        listed = supplier_event(county="510104")
        await publish(chengdu, listed)
        order = await place(yibin, service_order(visibility="province"), YIBIN)
        await yibin.drain(chengdu)

        seen = await chengdu.client.get(f"/v1/orders/{order['id']}", headers=chengdu.province)
        assert seen.status_code == 200
        assert seen.json()["owner_node"] == YIBIN

        grabbed = await chengdu.client.post(
            f"/v1/orders/{order['id']}/grabs", headers=supplier(chengdu, listed.partitionkey)
        )
        assert grabbed.status_code == 202, grabbed.text
        grab = grabbed.json()
        assert grab["status"] == "pending"
        assert grabbed.headers["Location"] == f"/v1/grabs/{grab['id']}"

        await yibin.drain(chengdu)

        followed = await chengdu.client.get(grabbed.headers["Location"], headers=chengdu.province)
        assert followed.json()["status"] == "awarded"
        assert followed.json()["confirm_by"] is not None
        decided = await yibin.events("grab.decided")
        assert [e["data"]["status"] for e in decided] == ["awarded"]
        assert await chengdu.events("grab.decided") == []  # only the owner decides
        replica = await chengdu.client.get(f"/v1/orders/{order['id']}", headers=chengdu.province)
        assert replica.json()["status"] == "awarded"
        assert replica.json()["awarded_count"] == 1


async def test_a_grab_outside_the_orders_visibility_is_rejected_with_its_reason(
    start_node: NodeStarter,
) -> None:
    async with start_node(YIBIN) as yibin, start_node(CHENGDU) as chengdu:
        far = supplier_event(county="510104")
        unlisted = supplier_event(county="511502", listing_status="applied")
        await publish(chengdu, far, unlisted)
        order = await place(yibin, service_order(visibility="own_city"), YIBIN)
        await yibin.drain(chengdu)

        from_chengdu = await chengdu.client.post(
            f"/v1/orders/{order['id']}/grabs", headers=supplier(chengdu, far.partitionkey)
        )
        from_yibin = await yibin.client.post(
            f"/v1/orders/{order['id']}/grabs", headers=supplier(yibin, unlisted.partitionkey)
        )
        await yibin.drain(chengdu)

        far_grab = await chengdu.client.get(
            f"/v1/grabs/{from_chengdu.json()['id']}", headers=chengdu.province
        )
        unlisted_grab = await yibin.client.get(
            f"/v1/grabs/{from_yibin.json()['id']}", headers=yibin.province
        )
        assert far_grab.json()["status"] == "rejected"
        assert far_grab.json()["reason"] == "outside_visibility"
        assert far_grab.json()["reason_text"] == "订单不向机构所在城市开放"
        assert unlisted_grab.json()["reason"] == "supplier_not_listed"


async def test_the_award_cap_counts_a_suppliers_awards_on_every_node(
    start_node: NodeStarter,
) -> None:
    async with (
        start_node(YIBIN, award_cap=1) as yibin,
        start_node(CHENGDU, award_cap=1) as chengdu,
        start_node(LESHAN, award_cap=1) as leshan,
    ):
        nodes = (chengdu, leshan)
        firm = supplier_event(county="511502")
        await publish(yibin, firm)
        in_yibin = await place(yibin, service_order(visibility="province"), YIBIN)
        in_chengdu = await place(chengdu, service_order("510104", visibility="province"), CHENGDU)
        await yibin.drain(*nodes)

        # Asked on Leshan, decided by Yibin: Chengdu hears of the award only from Yibin's decision.
        won = await grab_as(leshan, in_yibin["id"], firm.partitionkey)
        await yibin.drain(*nodes)
        assert await grab_status(leshan, won) == ("awarded", None)

        capped = await grab_as(yibin, in_chengdu["id"], firm.partitionkey)
        await yibin.drain(*nodes)
        assert await grab_status(yibin, capped) == ("rejected", "award_cap_reached")

        # The first order cancelled, its award no longer counts on Chengdu either.
        await cancel(yibin, in_yibin["id"], YIBIN)
        await yibin.drain(*nodes)
        again = await grab_as(yibin, in_chengdu["id"], firm.partitionkey)
        await yibin.drain(*nodes)
        assert await grab_status(yibin, again) == ("awarded", None)
