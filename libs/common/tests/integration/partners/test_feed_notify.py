"""Cross-process long polls: on PostgreSQL a relay's ``NOTIFY shulian_feed``, sent in the
transaction that assigns positions, wakes a feed reader in another process (another engine and
relay here) long before its poll period."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from shulian_common.bus.base import Publisher
from shulian_common.envelope import CloudEvent
from shulian_common.feed import (
    LISTENING_POLL_INTERVAL,
    POLL_INTERVAL,
    FeedFilter,
    poll_interval,
    wait_for_feed,
)
from shulian_common.messaging import outbox
from shulian_common.outbox import OutboxRelay
from shulian_common.testing.reliability import wait_until
from shulian_common.uow import outbox_row

from .conftest import quiet_relay, reader_and_writer

SERVICE = "kitexample"
POLL = 30.0  # the reader's poll period in this test: far longer than the wait we allow
WAIT = 25.0  # the long poll's own limit: without a wake-up it returns empty after this


@pytest.fixture
async def engines(postgres_url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    reader, writer = await reader_and_writer(postgres_url)
    yield reader, writer
    await reader.dispose()
    await writer.dispose()


@asynccontextmanager
async def listening(engine: AsyncEngine, publisher: Publisher) -> AsyncIterator[OutboxRelay]:
    """The reader process's relay running, its ``LISTEN`` connection open, its first run over."""
    relay = quiet_relay(engine, publisher, listen=True)
    stop = asyncio.Event()
    relaying = asyncio.create_task(relay.run(stop))
    try:
        await wait_until(lambda: relay.listening, message="the reader's LISTEN")
        await asyncio.sleep(0.2)  # its first (empty) run is over
        yield relay
    finally:
        stop.set()
        await relaying


@pytest.mark.postgres
async def test_a_publish_in_another_process_wakes_the_long_poll(
    engines: tuple[AsyncEngine, AsyncEngine], publisher: Publisher
) -> None:
    reader_engine, writer_engine = engines
    writer_relay = quiet_relay(writer_engine, publisher, listen=False)
    async with listening(reader_engine, publisher) as reader_relay:
        waiting = asyncio.create_task(
            wait_for_feed(
                reader_engine,
                reader_relay.published_pulse,
                service=SERVICE,
                after=0,
                limit=10,
                where=FeedFilter(),
                wait=WAIT,
                poll=POLL,
            )
        )
        await asyncio.sleep(0.2)
        assert not waiting.done()
        event = CloudEvent(
            source="/nodes/510100/test",
            type="cn.sichuan.shulian.test.thing.saved.v1",
            partitionkey="k",
            data={"n": 1},
        )
        async with writer_engine.begin() as conn:  # the other process commits and publishes
            await conn.execute(insert(outbox).values(outbox_row(event, "shulian.test.things.v1")))
        assert await writer_relay.run_once() == 1

        # Far below WAIT and POLL: only the notification can have woken the reader this soon.
        page = await asyncio.wait_for(waiting, timeout=WAIT / 3)

    assert [e["id"] for e in page.events] == [event.id]
    assert reader_relay.published == 0  # the reader's own relay published nothing
    assert poll_interval(listening=True) == LISTENING_POLL_INTERVAL > POLL_INTERVAL


@pytest.mark.postgres
async def test_the_relay_notifies_only_when_it_assigned_positions(
    engines: tuple[AsyncEngine, AsyncEngine], publisher: Publisher
) -> None:
    reader_engine, writer_engine = engines
    writer_relay = quiet_relay(writer_engine, publisher, listen=False)
    async with listening(reader_engine, publisher) as reader_relay:
        pulsed = asyncio.create_task(reader_relay.published_pulse.wait(2.0))
        await asyncio.sleep(0.05)
        assert await writer_relay.run_once() == 0  # nothing to publish: no NOTIFY
        quiet = await pulsed

    assert quiet is False
