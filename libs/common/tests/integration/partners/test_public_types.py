"""Partners read only a service's public events: not what it publishes on a command topic (the
nodes' request channel, which partners' Kafka principals cannot read either). The feed, the live
tail, single events and webhooks all leave commands out for a partner; asking for one is 403
``not_granted``; operators still read the whole feed."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from kit_example.contracts import SEAT_DECIDED, SEAT_REQUESTED, SERVICE
from partner.follower import tail
from partner.receiver import Receiver, bound_port, serve, serving, stop

from shulian_common.auth import Role
from shulian_common.feed import public_types
from shulian_common.settings import Settings
from shulian_common.testing.node import ServiceNode
from shulian_common.testing.partners import subscribe
from shulian_common.testing.reliability import wait_until

from .conftest import NODE, partner

NOTE_SAVED = "cn.sichuan.shulian.kitexample.note.saved.v1"


async def _feed(node: ServiceNode[Settings], headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await node.client.get("/v1/feed", params={"limit": 1000}, headers=headers)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()
    return events


async def _note_with_a_seat_request(node: ServiceNode[Settings]) -> None:
    """A note, a seat request on it (a command) and the owner's decision, all published."""
    writer = node.auth(Role.CITY_OPERATOR, NODE)
    note = await node.client.post("/v1/notes", json={"title": "讲座", "seats": 2}, headers=writer)
    assert note.status_code == 201, note.text
    asked = await node.client.post(
        f"/v1/notes/{note.json()['id']}/seats",
        json={"owner_node": NODE, "party": "甲"},
        headers=writer,
    )
    assert asked.status_code == 202, asked.text

    async def decided() -> bool:
        await node.drain()
        operator = await _feed(node, node.auth(Role.CITY_OPERATOR, NODE))
        return SEAT_DECIDED in {event["type"] for event in operator}

    await wait_until(decided, timeout=20, message="the owner's decision published")


def test_public_types_leave_out_the_command_topic() -> None:
    assert public_types(SERVICE) == {NOTE_SAVED, SEAT_DECIDED}
    assert public_types("no-such-service") == frozenset()


async def test_a_partner_never_reads_or_receives_commands(node: ServiceNode[Settings]) -> None:
    receiver = Receiver(secrets=[])
    async with serving(receiver) as url:
        sub = await subscribe(node, url, sub="partner:county-platform")
        receiver.secrets = [sub["secret"]]
        await _note_with_a_seat_request(node)
        await node.drain()
        assert node.runtime.webhooks is not None
        await node.runtime.webhooks.drain()

    mine = partner(node)
    operator = await _feed(node, node.auth(Role.CITY_OPERATOR, NODE))
    feed = await _feed(node, mine)
    [command] = [event for event in operator if event["type"] == SEAT_REQUESTED]
    asked = await node.client.get("/v1/feed", params={"types": SEAT_REQUESTED}, headers=mine)
    one = await node.client.get(f"/v1/feed/events/{command['id']}", headers=mine)
    one_operator = await node.client.get(
        f"/v1/feed/events/{command['id']}", headers=node.auth(Role.CITY_OPERATOR, NODE)
    )
    subscribe_command = await node.client.post(
        "/v1/subscriptions", json={"url": url, "types": [SEAT_REQUESTED]}, headers=mine
    )
    live = await _tail(node, len(feed))

    assert {event["type"] for event in operator} == {NOTE_SAVED, SEAT_REQUESTED, SEAT_DECIDED}
    assert [event["id"] for event in feed] == [
        event["id"] for event in operator if event["type"] != SEAT_REQUESTED
    ]
    assert {event["type"] for event in feed} == {NOTE_SAVED, SEAT_DECIDED}
    assert [event["id"] for event in live] == [event["id"] for event in feed]
    assert sorted(p["id"] for p in receiver.events.values()) == sorted(e["id"] for e in feed)
    assert receiver.rejected == 0
    for refused in (asked, one, subscribe_command):
        assert (refused.status_code, refused.json()["code"]) == (403, "not_granted"), refused.text
    assert asked.json()["not_granted"] == [SEAT_REQUESTED]
    assert one_operator.status_code == 200


async def _tail(node: ServiceNode[Settings], count: int) -> list[dict[str, Any]]:
    """The first ``count`` events of a partner's live tail, over a real HTTP server."""
    server = await serve(node.app)
    token = partner(node)["Authorization"].removeprefix("Bearer ")
    taken: list[dict[str, Any]] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bound_port(server)}") as client:

            async def take() -> None:
                async for _sse_id, event in tail(client, token):
                    taken.append(event)
                    if len(taken) == count:
                        return

            await asyncio.wait_for(take(), timeout=20)
    finally:
        await stop(server)
    return taken


async def test_the_live_tail_refuses_a_command_type(node: ServiceNode[Settings]) -> None:
    response = await node.client.get(
        "/v1/feed/stream", params={"types": SEAT_REQUESTED}, headers=partner(node)
    )

    assert (response.status_code, response.json()["code"]) == (403, "not_granted")
