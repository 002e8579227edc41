"""Confirmation, release of an unconfirmed award to the next grab, voiding by an edit, and the
order's path to fulfilment with its contract value (the trade volume)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shulian_common.commands import Request
from shulian_common.records import utc_now
from shulian_matching.handlers.grabs import release_overdue
from shulian_matching.main import rules_of, sweep_once
from shulian_matching.testing import (
    CHENGDU,
    YIBIN,
    Matching,
    NodeStarter,
    grab_as,
    grab_status,
    operator,
    place,
    publish,
    service_order,
    supplier,
    supplier_event,
)

pytestmark = pytest.mark.both_buses  # each test over the local log and over Kafka


async def _listed(node: Matching, count: int) -> list[str]:
    events = [supplier_event(county="511502") for _ in range(count)]
    await publish(node, *events)
    await node.drain()
    return [e.partitionkey for e in events]


async def _order(node: Matching, order_id: str) -> dict[str, Any]:
    response = await node.client.get(f"/v1/orders/{order_id}", headers=node.province)
    body: dict[str, Any] = response.json()
    body["etag"] = response.headers["ETag"]
    return body


async def test_an_unconfirmed_award_is_released_to_the_next_grab(yibin: Matching) -> None:
    first, second, third = await _listed(yibin, 3)
    order = await place(yibin, service_order(), YIBIN)
    grabs = [await grab_as(yibin, order["id"], s) for s in (first, second, third)]
    await yibin.drain()
    assert [await grab_status(yibin, g) for g in grabs] == [
        ("awarded", None),
        ("rejected", "no_slot_left"),
        ("rejected", "no_slot_left"),
    ]

    rules = rules_of(yibin.settings)
    later = utc_now() + timedelta(seconds=yibin.settings.award_confirm_seconds + 1)
    assert await release_overdue(yibin.runtime.uow_factory, rules, now=later) == 1
    await yibin.drain()

    assert [await grab_status(yibin, g) for g in grabs] == [
        ("released", "confirmation_late"),
        ("awarded", None),
        ("rejected", "no_slot_left"),
    ]
    current = await _order(yibin, order["id"])
    assert (current["status"], current["awarded_count"]) == ("awarded", 1)
    # The late supplier's confirmation changes nothing; the new winner's is accepted.
    late = await yibin.client.post(f"/v1/grabs/{grabs[0]}/confirm", headers=supplier(yibin, first))
    assert late.status_code == 409
    assert late.json()["code"] == "illegal_transition"
    confirmed = await yibin.client.post(
        f"/v1/grabs/{grabs[1]}/confirm", headers=supplier(yibin, second)
    )
    assert confirmed.status_code == 202
    await yibin.drain()
    assert await grab_status(yibin, grabs[1]) == ("confirmed", None)


async def test_a_confirmed_award_is_kept_by_the_sweep(yibin: Matching) -> None:
    [only] = await _listed(yibin, 1)
    order = await place(yibin, service_order(), YIBIN)
    grab = await grab_as(yibin, order["id"], only)
    await yibin.drain()
    other = await yibin.client.post(
        f"/v1/grabs/{grab}/confirm", headers=supplier(yibin, "someone-else")
    )
    assert other.status_code == 403
    await yibin.client.post(f"/v1/grabs/{grab}/confirm", headers=supplier(yibin, only))
    await yibin.drain()

    await sweep_once(yibin.runtime, yibin.settings)
    await yibin.drain()

    assert await grab_status(yibin, grab) == ("confirmed", None)


async def test_an_edit_of_the_terms_voids_pending_and_unconfirmed_grabs(yibin: Matching) -> None:
    first, second, third = await _listed(yibin, 3)
    order = await place(yibin, service_order(slots=2), YIBIN)
    awarded = await grab_as(yibin, order["id"], first)
    await yibin.drain()
    pending = await grab_as(yibin, order["id"], second)  # not decided yet when the edit lands
    current = await _order(yibin, order["id"])

    edited = await yibin.client.patch(
        f"/v1/orders/{order['id']}",
        json={"budget_yuan": 150_000},
        headers={**operator(yibin, YIBIN), "If-Match": current["etag"]},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["terms_version"] == 2
    assert edited.json()["awarded_count"] == 0
    await yibin.drain()

    assert await grab_status(yibin, awarded) == ("voided", "terms_changed")
    assert await grab_status(yibin, pending) == ("voided", "terms_changed")
    fresh = await grab_as(yibin, order["id"], third)
    await yibin.drain()
    assert await grab_status(yibin, fresh) == ("awarded", None)


async def test_a_title_fix_voids_nothing(yibin: Matching) -> None:
    [first] = await _listed(yibin, 1)
    order = await place(yibin, service_order(), YIBIN)
    grab = await grab_as(yibin, order["id"], first)
    await yibin.drain()
    current = await _order(yibin, order["id"])

    edited = await yibin.client.post(
        f"/v1/orders/{order['id']}/cancel", headers=operator(yibin, YIBIN)
    )
    assert edited.status_code == 428
    renamed = await yibin.client.patch(
        f"/v1/orders/{order['id']}",
        json={"title": "更正后的标题"},
        headers={**operator(yibin, YIBIN), "If-Match": current["etag"]},
    )
    assert renamed.status_code == 409  # an awarded order is no longer editable
    assert renamed.json()["code"] == "illegal_transition"
    assert await grab_status(yibin, grab) == ("awarded", None)


async def test_fulfilment_records_placements_and_the_contract_value(yibin: Matching) -> None:
    [only] = await _listed(yibin, 1)
    order = await place(yibin, service_order(), YIBIN)
    grab = await grab_as(yibin, order["id"], only)
    await yibin.drain()
    await yibin.client.post(f"/v1/grabs/{grab}/confirm", headers=supplier(yibin, only))
    await yibin.drain()
    headers = operator(yibin, YIBIN)

    too_early = await yibin.client.post(
        f"/v1/orders/{order['id']}/fulfil",
        json={"placements": 18, "contract_value_yuan": 180_000},
        headers={**headers, "If-Match": (await _order(yibin, order["id"]))["etag"]},
    )
    assert too_early.status_code == 409
    started = await yibin.client.post(
        f"/v1/orders/{order['id']}/start",
        headers={**headers, "If-Match": (await _order(yibin, order["id"]))["etag"]},
    )
    assert started.json()["status"] == "in_service"
    done = await yibin.client.post(
        f"/v1/orders/{order['id']}/fulfil",
        json={"placements": 18, "contract_value_yuan": 180_000},
        headers={**headers, "If-Match": started.headers["ETag"]},
    )

    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["placements"]) == ("fulfilled", 18)
    [fulfilled] = await yibin.events("order.fulfilled")
    assert fulfilled["data"]["contract_value_yuan"] == 180_000
    assert fulfilled["key"] == order["id"]


async def _request(node: Matching, request_id: str) -> tuple[Any, Any, Any]:
    async with node.runtime.uow_factory() as uow:
        row = await uow.session.get(Request, request_id)
        assert row is not None
        return row.status, row.outcome, row.reason


async def test_a_standby_grab_winning_a_freed_slot_settles_its_request_as_awarded(
    start_node: NodeStarter,
) -> None:
    async with start_node(YIBIN) as yibin, start_node(CHENGDU) as chengdu:
        here, there = supplier_event(county="511502"), supplier_event(county="510104")
        await publish(yibin, here, there)
        order = await place(yibin, service_order(), YIBIN)
        await yibin.drain(chengdu)
        first = await grab_as(yibin, order["id"], here.partitionkey)
        await yibin.drain(chengdu)
        second = await grab_as(chengdu, order["id"], there.partitionkey)
        await yibin.drain(chengdu)
        assert await grab_status(chengdu, second) == ("rejected", "no_slot_left")
        assert await _request(chengdu, second) == ("decided", "rejected", "no_slot_left")

        rules = rules_of(yibin.settings)
        later = utc_now() + timedelta(seconds=yibin.settings.award_confirm_seconds + 1)
        assert await release_overdue(yibin.runtime.uow_factory, rules, now=later) == 1
        await yibin.drain(chengdu)

        # The requester's grab and its request both say the standby grab won the slot ...
        assert await grab_status(chengdu, second) == ("awarded", None)
        assert await _request(chengdu, second) == ("decided", "accepted", None)
        # ... and the released one, asked on the owner node itself, says it lost it.
        assert await grab_status(yibin, first) == ("released", "confirmation_late")
        assert await _request(yibin, first) == ("decided", "rejected", "confirmation_late")
        confirmed = await chengdu.client.post(
            f"/v1/grabs/{second}/confirm", headers=supplier(chengdu, there.partitionkey)
        )
        assert confirmed.status_code == 202
        await yibin.drain(chengdu)
        assert await grab_status(chengdu, second) == ("confirmed", None)
        assert await _request(chengdu, second) == ("decided", "accepted", None)
