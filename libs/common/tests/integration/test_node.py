"""The generic test node: a service in-process, its tokens, its events, and drain across nodes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI, status
from pydantic import BaseModel
from sqlalchemy import column, insert, select, table

from shulian_common.app import create_service_app
from shulian_common.auth import Role, decode_token
from shulian_common.catalogue import EventModel, catalogue
from shulian_common.consumer import Subscription
from shulian_common.deps import UowFactoryDep, WriterDep
from shulian_common.envelope import CloudEvent
from shulian_common.readers import ReaderModel, Reads
from shulian_common.settings import Settings
from shulian_common.testing.node import ServiceNode, issuing_node, node_settings, run_node
from shulian_common.uow import UnitOfWork

MIGRATIONS = Path(__file__).parent / "migrations"
SERVICE = "nodetest"
PROVINCE, CHENGDU = "510000", "510100"
CREATED = f"cn.sichuan.shulian.{SERVICE}.item.created.v1"
SEEN = f"cn.sichuan.shulian.{SERVICE}.item.seen.v1"
ITEMS_TOPIC = f"shulian.{SERVICE}.items.v1"
SEEN_TOPIC = f"shulian.{SERVICE}.sightings.v1"

items = table("items", column("id"), column("name"))
applied = table("applied", column("consumer"), column("event_id"), column("key"), column("n"))


class NodeItemCreated(EventModel):
    """An item was created."""

    id: str
    name: str


class NodeItemSeen(EventModel):
    """Another node applied an item's creation."""

    id: str


catalogue.register(NodeItemCreated, type=CREATED, topic=ITEMS_TOPIC)
catalogue.register(NodeItemSeen, type=SEEN, topic=SEEN_TOPIC)


class CreatedReader(ReaderModel):
    """What the consumer reads of a creation."""

    id: str


class SeenReader(ReaderModel):
    """What the consumer reads of a sighting."""

    id: str


class ItemIn(BaseModel):
    name: str


def _router() -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.post("/items", status_code=status.HTTP_201_CREATED)
    async def create_item(body: ItemIn, _: WriterDep, uows: UowFactoryDep) -> dict[str, str]:
        item_id = uuid.uuid4().hex
        async with uows() as uow:
            await uow.session.execute(insert(items).values(id=item_id, name=body.name))
            uow.record(NodeItemCreated(id=item_id, name=body.name), key=item_id)
            await uow.commit()
        return {"id": item_id}

    return router


async def _apply_created(uow: UnitOfWork, event: CloudEvent, data: CreatedReader) -> None:
    """Apply every creation; one from another node is answered with a sighting event."""
    await _record_applied(uow, event, key=data.id, n=1)
    if event.source != uow.source:
        uow.record(NodeItemSeen(id=data.id), key=data.id)


async def _apply_seen(uow: UnitOfWork, event: CloudEvent, data: SeenReader) -> None:
    if event.source != uow.source:
        await _record_applied(uow, event, key=data.id, n=2)


async def _record_applied(uow: UnitOfWork, event: CloudEvent, *, key: str, n: int) -> None:
    values = {"consumer": uow.source, "event_id": event.id, "key": key, "n": n}
    await uow.session.execute(insert(applied).values(**values))


def create_app(settings: Settings) -> FastAPI:
    """A service with one route, two events and a consumer of each."""
    return create_service_app(
        settings=settings,
        title="测试节点",
        description="the generic test node under test",
        routers=[_router()],
        migrations=MIGRATIONS,
        subscriptions=[
            Subscription(
                topic=ITEMS_TOPIC,
                handlers={CREATED: Reads(model=CreatedReader, handle=_apply_created)},
            ),
            Subscription(
                topic=SEEN_TOPIC, handlers={SEEN: Reads(model=SeenReader, handle=_apply_seen)}
            ),
        ],
    )


def _start(database_url: str, tmp_path: Path, node: str) -> AbstractAsyncContextManager[Node]:
    settings = node_settings(
        Settings, database_url=database_url, tmp_path=tmp_path, node=node, service=SERVICE
    )
    return run_node(create_app, settings)


Node = ServiceNode[Settings]


@pytest.fixture
async def province(database_url: str, tmp_path: Path) -> AsyncIterator[Node]:
    """The service as the province node."""
    async with _start(database_url, tmp_path, PROVINCE) as node:
        yield node


async def _create(node: Node, name: str) -> str:
    response = await node.client.post(
        "/v1/items", json={"name": name}, headers=node.auth(Role.CITY_OPERATOR, CHENGDU)
    )
    assert response.status_code == 201, response.text
    item_id: str = response.json()["id"]
    return item_id


async def _applied(node: Node) -> list[tuple[str, int]]:
    async with node.runtime.engine.connect() as connection:
        rows = (await connection.execute(select(applied.c.key, applied.c.n))).all()
    return sorted((row.key, row.n) for row in rows)


def test_operators_are_issued_by_their_city_node_and_others_by_the_node() -> None:
    assert issuing_node("510000") == PROVINCE
    assert issuing_node("510104") == CHENGDU
    assert issuing_node("511502") == "511500"


async def test_tokens_carry_the_role_and_the_issuing_node(province: Node) -> None:
    county = province.auth(Role.COUNTY_OPERATOR, "510104", sub="u-1")["Authorization"]
    partner = province.auth("partner")["Authorization"]
    admin = province.province["Authorization"]

    seen = [decode_token(province.settings, h.removeprefix("Bearer ")) for h in (county, partner)]
    boss = decode_token(province.settings, admin.removeprefix("Bearer "))
    assert [(p.role, p.node, p.division, p.sub) for p in seen] == [
        (Role.COUNTY_OPERATOR, CHENGDU, "510104", "u-1"),
        (Role.PARTNER, PROVINCE, None, seen[1].sub),
    ]
    assert (boss.role, boss.node, boss.division) == (Role.PROVINCE_ADMIN, PROVINCE, PROVINCE)


async def test_events_are_the_outbox_in_commit_order_filtered_by_type(province: Node) -> None:
    first = await _create(province, "甲")
    second = await _create(province, "乙")

    events = await province.events()
    assert [(e["type"], e["key"], e["topic"]) for e in events] == [
        ("item.created.v1", first, ITEMS_TOPIC),
        ("item.created.v1", second, ITEMS_TOPIC),
    ]
    assert [e["data"]["name"] for e in events] == ["甲", "乙"]
    assert await province.events("item.created") == events
    assert await province.events("item.created.v1") == events
    assert await province.events("item.created.v2") == []
    assert await province.events("item.seen") == []
    assert (await province.count("items"), await province.count("outbox")) == (2, 2)


async def test_drain_relays_and_applies_what_a_request_wrote(province: Node) -> None:
    await province.stop_workers()  # only drain moves events now: nothing happens before it
    item = await _create(province, "甲")
    assert await _applied(province) == []

    handled = await province.drain()

    assert handled == 1
    assert await _applied(province) == [(item, 1)]
    assert await province.runtime.relay.backlog() == 0
    assert await province.drain() == 0  # nothing left, nothing twice


async def test_nodes_sharing_a_bus_drain_across_each_other_until_nothing_is_left(
    database_url: str, other_database_url: str, tmp_path: Path
) -> None:
    async with (
        _start(database_url, tmp_path, PROVINCE) as province,
        _start(other_database_url, tmp_path, CHENGDU) as chengdu,
    ):
        await province.stop_workers()
        await chengdu.stop_workers()
        item = await _create(province, "甲")

        # Round 1 carries the creation to both nodes and Chengdu answers with a sighting;
        # only a second round carries the sighting back: one call must do both.
        handled = await province.drain(chengdu)

        assert await _applied(province) == [(item, 1), (item, 2)]
        assert await _applied(chengdu) == [(item, 1)]
        assert [e["type"] for e in await chengdu.events()] == ["item.seen.v1"]
        assert handled == 2 + 2  # each node took the creation, then the sighting
