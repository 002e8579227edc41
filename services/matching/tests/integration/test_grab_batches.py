"""The owner decides a batch of grab commands in one transaction from bulk reads (``prepare``):
every rule holds within the batch as it does command by command — a second grab of the same
supplier, the award cap (counting another owner's award heard in the same batch), slots, listing,
an unknown supplier, a grab on old terms — and both ways give the same decisions and numbers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from shulian_common.envelope import CloudEvent
from shulian_common.readers import Reads
from shulian_common.records import utc_now
from shulian_matching.consumers import (
    GRABS_TOPIC,
    GrabDecidedReader,
    GrabRequestReader,
    subscriptions,
)
from shulian_matching.orm import Grab
from shulian_matching.testing import (
    CHENGDU,
    LESHAN,
    YIBIN,
    Matching,
    NodeStarter,
    place,
    publish,
    service_order,
    supplier_event,
)

REQUESTED = "cn.sichuan.shulian.matching.grab.requested.v1"
DECIDED = "cn.sichuan.shulian.matching.grab.decided.v1"
EXPECTED = [
    ("awarded", None),  # s1 → A (its grab asked on the owner node itself)
    ("rejected", "already_grabbed"),  # s1 → A again
    ("awarded", None),  # s2 → B
    ("awarded", None),  # s2 → A: A's second and last slot; s2 now holds two awards
    ("rejected", "no_slot_left"),  # s3 → A
    ("rejected", "award_cap_reached"),  # s2 → C
    ("rejected", "supplier_not_listed"),  # s4 → C
    ("rejected", "supplier_unknown"),  # an unknown supplier → C
    ("voided", "terms_changed"),  # s3 → C on terms it no longer has
    ("awarded", None),  # s3 → C
    ("rejected", "award_cap_reached"),  # s1 → D: A and Leshan's award, heard in this batch
]


@dataclass(frozen=True)
class Item:
    """One record of the batch: its handler, event and data."""

    reads: Reads[Any]
    event: CloudEvent
    data: Any


def _reads(node: Matching, event_type: str) -> Reads[Any]:
    settings = node.settings
    for sub in subscriptions(
        settings.node_id,
        award_cap=settings.award_cap,
        confirm_seconds=settings.award_confirm_seconds,
    ):
        if sub.topic == GRABS_TOPIC and event_type in sub.handlers:
            return sub.handlers[event_type]
    raise AssertionError(event_type)


async def _scenario(node: Matching) -> tuple[list[Item], list[str]]:
    """Fresh orders and suppliers, and the records of the batch; the grab ids, in order."""
    listed = [supplier_event(county="511502") for _ in range(3)]
    unlisted = supplier_event(county="511502", listing_status="suspended")
    await publish(node, *listed, unlisted)
    await node.drain()
    s1, s2, s3 = (e.partitionkey for e in listed)
    s4, nobody = unlisted.partitionkey, uuid.uuid4().hex
    a, b, c, d = [
        (await place(node, service_order(slots=slots), YIBIN))["id"] for slots in (2, 1, 1, 1)
    ]
    # A grab asked on the owner node itself: its pending row is there before its command.
    own = {**_command(a, s1, 1), "requester_node": YIBIN}
    async with node.runtime.uow_factory() as uow:
        uow.session.add(_pending(own))
        await uow.commit()

    requested = _reads(node, REQUESTED)
    items = [Item(requested, _event(YIBIN, REQUESTED, own), _read(own))]
    for order, supplier, terms in [
        (a, s1, 1),
        (b, s2, 1),
        (a, s2, 1),
        (a, s3, 1),
        (c, s2, 1),
        (c, s4, 1),
        (c, nobody, 1),
        (c, s3, 0),
        (c, s3, 1),
    ]:
        data = _command(order, supplier, terms)
        items.append(Item(requested, _event(CHENGDU, REQUESTED, data), _read(data)))
    elsewhere = _award_elsewhere(s1)
    items.append(
        Item(
            _reads(node, DECIDED),
            _event(LESHAN, DECIDED, elsewhere),
            GrabDecidedReader.model_validate(elsewhere),
        )
    )
    data = _command(d, s1, 1)
    items.append(Item(requested, _event(CHENGDU, REQUESTED, data), _read(data)))
    grab_ids = [i.data.request_id for i in items if isinstance(i.data, GrabRequestReader)]
    return items, grab_ids


def _command(order_id: str, supplier_id: str, terms_version: int) -> dict[str, Any]:
    return {
        "request_id": uuid.uuid4().hex,
        "requester_node": CHENGDU,
        "target_id": order_id,
        "target_owner_node": YIBIN,
        "supplier_id": supplier_id,
        "terms_version": terms_version,
        "requested_at": utc_now().isoformat(),
    }


def _award_elsewhere(supplier_id: str) -> dict[str, Any]:
    """Leshan's award of one of its orders to the supplier, asked from Chengdu."""
    grab_id, now = uuid.uuid4().hex, utc_now().isoformat()
    return {
        "request_id": grab_id,
        "requester_node": CHENGDU,
        "target_id": uuid.uuid4().hex,
        "outcome": "accepted",
        "grab_id": grab_id,
        "owner_node": LESHAN,
        "supplier_id": supplier_id,
        "status": "awarded",
        "terms_version": 1,
        "requested_at": now,
        "seq": 1,
        "decided_at": now,
        "confirm_by": now,
    }


def _pending(data: dict[str, Any]) -> Grab:
    return Grab(
        id=data["request_id"],
        order_id=data["target_id"],
        order_owner_node=YIBIN,
        supplier_id=data["supplier_id"],
        requester_node=data["requester_node"],
        terms_version=data["terms_version"],
        status="pending",
        reason=None,
        seq=0,
        requested_at=utc_now(),
        decided_at=None,
        confirm_by=None,
    )


def _read(data: dict[str, Any]) -> GrabRequestReader:
    return GrabRequestReader.model_validate(data)


def _event(node: str, event_type: str, data: dict[str, Any]) -> CloudEvent:
    return CloudEvent(
        source=f"/nodes/{node}/matching",
        type=event_type,
        partitionkey=data["target_id"],
        data=data,
    )


async def _in_one_transaction(node: Matching, items: list[Item]) -> None:
    """As the consumer applies a batch: each handler's ``prepare``, then the records in order."""
    async with node.runtime.uow_factory() as uow:
        commands = [i.data for i in items if i.reads.prepare is not None]
        prepare = items[0].reads.prepare
        assert prepare is not None
        await prepare(uow, commands)
        for item in items:
            await item.reads.handle(uow, item.event, item.data)
        await uow.commit()


async def _one_by_one(node: Matching, items: list[Item]) -> None:
    """Each record in a transaction of its own, nothing read in advance."""
    for item in items:
        async with node.runtime.uow_factory() as uow:
            await item.reads.handle(uow, item.event, item.data)
            await uow.commit()


async def _decisions(node: Matching, grab_ids: list[str]) -> list[tuple[str, Any, int]]:
    found = []
    for grab_id in grab_ids:
        body = (await node.client.get(f"/v1/grabs/{grab_id}", headers=node.province)).json()
        decided = [
            e["data"]
            for e in await node.events("grab.decided")
            if e["data"]["request_id"] == grab_id
        ]
        assert len(decided) == 1, (grab_id, decided)
        assert (decided[0]["status"], decided[0]["reason"]) == (body["status"], body["reason"])
        found.append((body["status"], body["reason"], decided[0]["seq"]))
    return found


async def test_a_batch_decides_as_the_commands_decided_one_by_one(
    start_node: NodeStarter,
) -> None:
    async with start_node(YIBIN, award_cap=2) as yibin:
        batched, batched_ids = await _scenario(yibin)
        await _in_one_transaction(yibin, batched)
        alone, alone_ids = await _scenario(yibin)
        await _one_by_one(yibin, alone)

        in_batch = await _decisions(yibin, batched_ids)
        one_by_one = await _decisions(yibin, alone_ids)

    assert [(status, reason) for status, reason, _ in in_batch] == EXPECTED
    assert in_batch == one_by_one  # the same decisions, numbered the same in each order


async def test_a_command_delivered_twice_in_one_batch_is_decided_once(
    start_node: NodeStarter,
) -> None:
    async with start_node(YIBIN) as yibin:
        items, grab_ids = await _scenario(yibin)
        first = items[2]  # s2 → B: awarded
        await _in_one_transaction(yibin, [first, first])
        decided = [
            e["data"]
            for e in await yibin.events("grab.decided")
            if e["data"]["request_id"] == grab_ids[2]
        ]
        order = await yibin.client.get(f"/v1/orders/{first.data.target_id}", headers=yibin.province)

    # The kit records a decision per command handled (the inbox dedupes deliveries before it):
    # the second copy repeats the first's decision and awards nothing more.
    assert [(d["status"], d["seq"]) for d in decided] == [("awarded", 1), ("awarded", 1)]
    assert (order.json()["status"], order.json()["awarded_count"]) == ("awarded", 1)
