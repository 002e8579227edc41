"""The changes feed: commit order by the relay's position, exact resumption, filters, long poll."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from partner.follower import FeedFollower
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shulian_common.bus.local import LocalBus
from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.envelope import CloudEvent
from shulian_common.feed import (
    BATCH_MEDIA_TYPE,
    NEXT_CURSOR_HEADER,
    FeedFilter,
    decode_cursor,
    encode_cursor,
    read_feed,
)
from shulian_common.messaging import outbox
from shulian_common.outbox import OutboxRelay
from shulian_common.settings import Settings
from shulian_common.testing.node import ServiceNode
from shulian_common.uow import outbox_row

from .conftest import partner, write_notes

MIGRATIONS = Path(__file__).parents[1] / "migrations"
SERVICE = "kitexample"


def _event(key: str, **data: object) -> CloudEvent:
    return CloudEvent(
        source="/nodes/510100/test",
        type="cn.sichuan.shulian.test.thing.saved.v1",
        partitionkey=key,
        data=dict(data),
    )


@pytest.fixture
async def pg_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(postgres_url)
    await migrate(engine, MIGRATIONS)
    yield engine
    await engine.dispose()


@pytest.mark.postgres
async def test_a_lower_seq_committed_after_a_higher_one_is_not_skipped(
    pg_engine: AsyncEngine, tmp_path: Path
) -> None:
    bus = LocalBus(tmp_path / "bus.db", partitions=1)
    publisher = bus.publisher()
    await publisher.start()
    relay = OutboxRelay(
        engine=pg_engine,
        session_factory=create_session_factory(pg_engine),
        publisher=publisher,
        listen=False,
    )
    early, late = _event("a", n=1), _event("b", n=2)
    try:
        async with pg_engine.connect() as slow:
            slow_tx = await slow.begin()
            # Takes seq 1 now, but commits only after seq 2 has committed and been read.
            await slow.execute(insert(outbox).values(outbox_row(early, "shulian.test.things.v1")))
            async with pg_engine.begin() as fast:
                await fast.execute(
                    insert(outbox).values(outbox_row(late, "shulian.test.things.v1"))
                )
            await relay.run_once()
            first = await read_feed(pg_engine, service=SERVICE, after=0, limit=100)
            await slow_tx.commit()
        await relay.run_once()
        second = await read_feed(pg_engine, service=SERVICE, after=first.last, limit=100)
        async with pg_engine.connect() as conn:
            seqs = dict((await conn.execute(select(outbox.c.event_id, outbox.c.seq))).all())
    finally:
        await publisher.stop()
        await bus.close()

    assert [e["id"] for e in first.events] == [late.id]
    assert [e["id"] for e in second.events] == [early.id]  # a seq cursor would have skipped it
    assert seqs[early.id] < seqs[late.id]
    assert (first.last, second.last) == (1, 2)


async def test_a_reader_resuming_by_cursor_sees_each_event_once_while_writes_go_on(
    node: ServiceNode[Settings],
) -> None:
    total = 10_000
    writer = asyncio.create_task(write_notes(node, total, per_commit=20))
    seen: list[str] = []
    positions: list[int] = []
    cursor: str | None = None
    deadline = time.monotonic() + 120
    while len(seen) < total and time.monotonic() < deadline:
        # A new follower each time: it knows only the cursor the last one saved.
        follower = FeedFollower(node.client, _token(node), cursor=cursor, limit=700, wait=2)
        batch = await follower.read()
        seen += [event["id"] for event in batch.events]
        positions += [decode_cursor(SERVICE, event["feedcursor"]) for event in batch.events]
        cursor = batch.cursor
    written = await writer

    assert len(seen) == len(set(seen)) == total
    assert set(seen) == set(written)
    assert positions == list(range(1, total + 1))  # commit order, no gap, no repeat


def _token(node: ServiceNode[Settings]) -> str:
    return partner(node)["Authorization"].removeprefix("Bearer ")


async def test_a_batch_is_a_cloudevents_batch_with_the_next_cursor(
    node: ServiceNode[Settings],
) -> None:
    ids = await write_notes(node, 5)
    await node.drain()

    first = await node.client.get("/v1/feed", params={"limit": 3}, headers=partner(node))
    rest = await node.client.get(
        "/v1/feed", params={"after": first.headers[NEXT_CURSOR_HEADER]}, headers=partner(node)
    )

    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == BATCH_MEDIA_TYPE
    events = first.json() + rest.json()
    assert [e["id"] for e in events] == ids
    assert events[0]["specversion"] == "1.0"
    assert events[0]["type"] == "cn.sichuan.shulian.kitexample.note.saved.v1"
    assert events[0]["data"]["title"] == "第0条"
    assert decode_cursor(SERVICE, rest.headers[NEXT_CURSOR_HEADER]) == 5


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"after": "not-a-cursor"}, "invalid_feed_cursor"),
        ({"after": encode_cursor("registry", 3)}, "invalid_feed_cursor"),
        ({"city": "519999"}, "invalid_city"),
        ({"types": "cn.sichuan.shulian.registry.park.created.v1"}, "unknown_event_type"),
    ],
)
async def test_bad_input_is_a_400_problem(
    node: ServiceNode[Settings], params: dict[str, str], code: str
) -> None:
    response = await node.client.get("/v1/feed", params=params, headers=partner(node))

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


async def test_only_partners_and_operators_read_the_feed(node: ServiceNode[Settings]) -> None:
    anonymous = await node.client.get("/v1/feed")
    supplier = await node.client.get("/v1/feed", headers=node.auth("supplier", supplier_id="s1"))
    operator = await node.client.get("/v1/feed", headers=node.auth("city_operator", "510100"))

    assert (anonymous.status_code, supplier.status_code, operator.status_code) == (401, 403, 200)


async def test_a_long_poll_returns_as_soon_as_an_event_is_published(
    node: ServiceNode[Settings],
) -> None:
    follower = FeedFollower(node.client, _token(node), wait=20)
    started = time.monotonic()
    waiting = asyncio.create_task(follower.read())
    await asyncio.sleep(0.2)
    assert not waiting.done()
    [event_id] = await write_notes(node, 1)

    batch = await waiting

    assert [e["id"] for e in batch.events] == [event_id]
    assert time.monotonic() - started < 5


async def test_a_cursor_behind_purged_events_is_gone(node: ServiceNode[Settings]) -> None:
    await write_notes(node, 4)
    await node.drain()
    async with node.runtime.engine.begin() as conn:  # what retention does to old rows
        await conn.execute(delete(outbox).where(outbox.c.position <= 2))

    response = await node.client.get(
        "/v1/feed", params={"after": encode_cursor(SERVICE, 1)}, headers=partner(node)
    )
    fresh = await node.client.get(
        "/v1/feed", params={"after": encode_cursor(SERVICE, 2)}, headers=partner(node)
    )

    assert (response.status_code, response.json()["code"]) == (410, "cursor_expired")
    assert len(fresh.json()) == 2


async def test_filters_keep_types_and_divisions_and_still_move_the_cursor(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    events = [
        _event("a", county_code="510104"),  # 锦江区, in Chengdu
        _event("b", city_code="510700"),  # 绵阳
        _event("c", division_code="510100"),
        _event("d"),  # no division at all
    ]
    async with engine.begin() as conn:
        for position, event in enumerate(events, 1):
            row = outbox_row(event, "shulian.test.things.v1")
            await conn.execute(insert(outbox).values(**row, position=position))

    chengdu = await read_feed(
        engine, service=SERVICE, after=0, limit=10, where=FeedFilter(city="510100")
    )
    mianyang = await read_feed(
        engine, service=SERVICE, after=0, limit=10, where=FeedFilter(city="510700")
    )
    other = await read_feed(
        engine, service=SERVICE, after=0, limit=10, where=FeedFilter(types=frozenset({"x.y"}))
    )

    assert [e["partitionkey"] for e in chengdu.events] == ["a", "c"]
    assert [e["partitionkey"] for e in mianyang.events] == ["b"]
    assert (chengdu.last, mianyang.last) == (4, 4)
    assert other.events == []


async def test_a_thin_webhook_link_fetches_the_event(node: ServiceNode[Settings]) -> None:
    [event_id] = await write_notes(node, 1)
    await node.drain()

    found = await node.client.get(f"/v1/feed/events/{event_id}", headers=partner(node))
    missing = await node.client.get("/v1/feed/events/nope", headers=partner(node))

    assert found.status_code == 200
    assert found.json()["id"] == event_id
    assert found.json()["data"]["title"] == "第0条"
    assert (missing.status_code, missing.json()["code"]) == (404, "event_not_found")
