"""Per-partner grants: a partner reads the feed and subscribes only within what it was granted
(types, divisions, industries); asking beyond is 403 ``not_granted``, a partner without a grant
is 403 ``partner_not_granted``, operators read everything; narrowing keeps the cursor moving."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kit_example.contracts import SEAT_DECIDED, SERVICE
from kit_example.main import create_app
from partner.follower import tail
from partner.receiver import Receiver, bound_port, serve, serving, stop
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from shulian_common.auth import Principal, Role
from shulian_common.envelope import CloudEvent
from shulian_common.errors import ForbiddenError
from shulian_common.feed import (
    FeedFilter,
    NotGrantedError,
    grant_of,
    granted,
    public_types,
    read_feed,
    reader_grant,
)
from shulian_common.messaging import outbox
from shulian_common.settings import Environment, PartnerGrant, Settings
from shulian_common.testing.node import ServiceNode, run_node
from shulian_common.uow import outbox_row
from shulian_common.webhooks.dispatcher import WebhookDispatcher

from .conftest import example_settings, partner, write_notes

NOTE_SAVED = "cn.sichuan.shulian.kitexample.note.saved.v1"
GRANTS = {
    "partner:county-platform": {"types": [NOTE_SAVED], "cities": ["511500"]},
    "partner:everything": {},
    "partner:notes-only": {"types": [NOTE_SAVED]},
}


@pytest.fixture
async def granting(database_url: str, tmp_path: Path) -> AsyncIterator[ServiceNode[Settings]]:
    """The example service with partner grants configured."""
    settings = example_settings(database_url, tmp_path, partner_grants=GRANTS)
    async with run_node(create_app, settings) as running:
        yield running


async def test_a_partner_reads_and_subscribes_only_within_its_grant(
    granting: ServiceNode[Settings],
) -> None:
    node = granting
    first, _ = await write_notes(node, 2)
    await node.drain()
    mine, stranger = partner(node), partner(node, "unknown")

    within = await node.client.get("/v1/feed", params={"city": "511502"}, headers=mine)
    other_city = await node.client.get("/v1/feed", params={"city": "510100"}, headers=mine)
    province = await node.client.get("/v1/feed", params={"city": "510000"}, headers=mine)
    other_type = await node.client.get("/v1/feed", params={"types": SEAT_DECIDED}, headers=mine)
    nobody = await node.client.get("/v1/feed", headers=stranger)
    all_of_it = await node.client.get("/v1/feed", headers=partner(node, "everything"))
    operator = await node.client.get("/v1/feed", headers=node.auth("city_operator", "510100"))
    subscribe_beyond = await node.client.post(
        "/v1/subscriptions",
        json={"url": "https://p.example.cn/h", "cities": ["510100"]},
        headers=mine,
    )
    subscribe_stranger = await node.client.post(
        "/v1/subscriptions", json={"url": "https://p.example.cn/h"}, headers=stranger
    )
    subscribe_within = await node.client.post(
        "/v1/subscriptions",
        json={"url": "https://p.example.cn/h", "types": [NOTE_SAVED], "cities": ["511502"]},
        headers=mine,
    )
    listed = await node.client.get("/v1/subscriptions", headers=mine)
    one_beyond = await node.client.get(f"/v1/feed/events/{first}", headers=mine)
    one_within = await node.client.get(
        f"/v1/feed/events/{first}", headers=partner(node, "everything")
    )

    assert within.status_code == 200
    # Notes carry no division: the Yibin grant lets none through, yet the cursor moved past them.
    assert within.json() == []
    for refused in (other_city, province, other_type, subscribe_beyond, one_beyond):
        assert (refused.status_code, refused.json()["code"]) == (403, "not_granted"), refused.text
    assert other_city.json()["not_granted"] == ["510100"]
    for refused in (nobody, subscribe_stranger):
        assert (refused.status_code, refused.json()["code"]) == (403, "partner_not_granted")
    assert len(all_of_it.json()) == len(operator.json()) == 2
    assert one_within.json()["id"] == first
    assert subscribe_within.status_code == 201
    assert [s["id"] for s in listed.json()["items"]] == [subscribe_within.json()["id"]]


async def test_the_live_tail_keeps_to_the_grant(granting: ServiceNode[Settings]) -> None:
    node = granting
    first = await write_notes(node, 2)
    async with node.runtime.engine.begin() as conn:  # a granted partner's type, not this one's
        row = outbox_row(_event("s", SEAT_DECIDED, request_id="r1"), "shulian.kitexample.x.v1")
        await conn.execute(insert(outbox).values(**row))
    later = await write_notes(node, 1)
    await node.drain()
    server = await serve(node.app)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bound_port(server)}") as http:
            live = await asyncio.wait_for(_take(http, _bearer(node, "notes-only"), 3), timeout=20)
            beyond = await http.get(
                "/v1/feed/stream",
                params={"types": SEAT_DECIDED},
                headers=partner(node, "notes-only"),
            )
            other_city = await http.get(
                "/v1/feed/stream", params={"city": "510100"}, headers=partner(node)
            )
            nobody = await http.get("/v1/feed/stream", headers=partner(node, "unknown"))
            everything = await asyncio.wait_for(
                _take(http, _bearer(node, "everything"), 4), timeout=20
            )
    finally:
        await stop(server)

    # The seat decision between the second and third note is left out of the narrowed tail.
    assert [event["id"] for event in live] == first + later
    assert [event["type"] for event in everything].count(SEAT_DECIDED) == 1
    for refused in (beyond, other_city):
        assert (refused.status_code, refused.json()["code"]) == (403, "not_granted")
    assert (nobody.status_code, nobody.json()["code"]) == (403, "partner_not_granted")


async def test_a_narrowed_grant_stops_owed_deliveries_and_their_redelivery(
    granting: ServiceNode[Settings],
) -> None:
    node = granting
    await node.stop_workers()  # dispatchers of this test's own from here on
    narrowed = node.settings.model_copy(
        update={
            "partner_grants": {
                **(node.settings.partner_grants or {}),
                "partner:everything": PartnerGrant(types=frozenset({SEAT_DECIDED})),
            }
        }
    )
    before = WebhookDispatcher(engine=node.runtime.engine, settings=node.settings)
    after = WebhookDispatcher(engine=node.runtime.engine, settings=narrowed)
    receiver = Receiver(secrets=[])
    me = partner(node, "everything")
    try:
        async with serving(receiver) as url:
            created = await node.client.post("/v1/subscriptions", json={"url": url}, headers=me)
            receiver.secrets = [created.json()["secret"]]
            log = f"/v1/subscriptions/{created.json()['id']}/deliveries"
            await write_notes(node, 2)
            await node.drain()
            assert await before.fan_out() == 2  # owed under the grant of the fan-out
            await after.drain()  # the grant no longer covers notes
            refused = (await node.client.get(log, headers=me)).json()["items"]
            again = await node.client.post(f"{log}/{refused[0]['id']}/redeliver", headers=me)
            await after.drain()
            still = (await node.client.get(log, headers=me)).json()["items"]
            arrived_narrowed = dict(receiver.arrivals)
            await node.client.post(f"{log}/{refused[0]['id']}/redeliver", headers=me)
            await before.drain()  # under the grant that covers it, the same delivery goes
    finally:
        await before.close()
        await after.close()

    assert [(d["status"], d["attempts"], d["last_error"]) for d in refused] == [
        ("failed", 0, "not_granted")
    ] * 2
    assert again.status_code == 202
    assert [(d["status"], d["last_error"]) for d in still] == [("failed", "not_granted")] * 2
    assert arrived_narrowed == {}  # nothing beyond the grant was sent
    assert list(receiver.arrivals) == [refused[0]["id"]]
    assert receiver.rejected == 0


async def test_a_thin_delivery_is_judged_on_the_events_data_when_sent(
    granting: ServiceNode[Settings],
) -> None:
    node = granting
    await node.stop_workers()
    wider = node.settings.model_copy(
        update={
            "partner_grants": {
                **(node.settings.partner_grants or {}),
                "partner:county-platform": PartnerGrant(types=frozenset({NOTE_SAVED})),
            }
        }
    )
    before = WebhookDispatcher(engine=node.runtime.engine, settings=wider)
    granted_now = WebhookDispatcher(engine=node.runtime.engine, settings=node.settings)
    receiver = Receiver(secrets=[])
    me = partner(node)  # granted Yibin (511500) only, in node.settings
    try:
        async with serving(receiver) as url:
            created = await node.client.post(
                "/v1/subscriptions", json={"url": url, "payload": "thin"}, headers=me
            )
            receiver.secrets = [created.json()["secret"]]
            yibin, chengdu = _event("y", city_code="511500"), _event("c", city_code="510100")
            async with node.runtime.engine.begin() as conn:
                for event in (yibin, chengdu):
                    await conn.execute(insert(outbox).values(**outbox_row(event, "shulian.x.v1")))
            await node.drain()
            assert await before.fan_out() == 2  # owed under the wider grant
            await granted_now.drain()
            log = f"/v1/subscriptions/{created.json()['id']}/deliveries"
            deliveries = (await node.client.get(log, headers=me)).json()["items"]
    finally:
        await before.close()
        await granted_now.close()

    assert [p["id"] for p in receiver.events.values()] == [yibin.id]
    assert all("data" not in p for p in receiver.events.values())
    assert {(d["event_id"], d["status"], d["last_error"]) for d in deliveries} == {
        (yibin.id, "delivered", None),
        (chengdu.id, "failed", "not_granted"),
    }


def _bearer(node: ServiceNode[Settings], name: str) -> str:
    return partner(node, name)["Authorization"].removeprefix("Bearer ")


async def _take(http: httpx.AsyncClient, token: str, count: int) -> list[dict[str, Any]]:
    taken: list[dict[str, Any]] = []
    async for _sse_id, event in tail(http, token):
        taken.append(event)
        if len(taken) == count:
            break
    return taken


def _event(key: str, type_: str = NOTE_SAVED, **data: object) -> CloudEvent:
    return CloudEvent(
        source="/nodes/510100/kitexample", type=type_, partitionkey=key, data=dict(data)
    )


async def test_a_grant_narrows_what_is_read_and_the_cursor_still_moves(
    engine: AsyncEngine,
) -> None:
    events = [
        _event("a", county_code="511502", industries=["power_batteries"]),  # 翠屏区, 宜宾
        _event("b", city_code="511500", industries=["liquor_food"]),
        _event("c", city_code="510100", industries=["power_batteries"]),  # 成都
        _event("d", SEAT_DECIDED, city_code="511500", industries=["power_batteries"]),
        _event("e", division_code="511500", industry="power_batteries"),
    ]
    async with engine.begin() as conn:
        for position, event in enumerate(events, 1):
            await conn.execute(
                insert(outbox).values(**outbox_row(event, "shulian.x.v1"), position=position)
            )
    grant = PartnerGrant(
        types=frozenset({NOTE_SAVED}),
        cities=frozenset({"511500"}),
        industries=frozenset({"power_batteries"}),
    )

    page = await read_feed(
        engine, service=SERVICE, after=0, limit=10, where=granted(FeedFilter(), grant)
    )
    with pytest.raises(NotGrantedError):
        granted(FeedFilter(city="510100"), grant)
    with pytest.raises(NotGrantedError):
        granted(FeedFilter(types=frozenset({SEAT_DECIDED})), grant)

    assert [e["partitionkey"] for e in page.events] == ["a", "e"]
    assert page.last == 5


def test_without_configured_grants_partners_read_everything_only_in_dev_and_test() -> None:
    reader = Principal(sub="partner:x", role=Role.PARTNER, node="510000")
    test = Settings(env=Environment.TEST)
    production = Settings(env=Environment.PRODUCTION, jwt_secret="s" * 40)
    granted_production = Settings(
        env=Environment.PRODUCTION, jwt_secret="s" * 40, partner_grants={"partner:x": {}}
    )

    assert grant_of(test, "partner:x") == PartnerGrant()
    assert grant_of(production, "partner:x") is None
    with pytest.raises(ForbiddenError):
        reader_grant(production, reader)
    # Everything granted: every public type of the service (commands are never granted).
    public = public_types(granted_production.service)
    assert reader_grant(granted_production, reader) == PartnerGrant(types=public)
    operator = Principal(sub="op", role=Role.PROVINCE_ADMIN, node="510000", division="510000")
    assert reader_grant(production, operator) is None  # operators are not limited
