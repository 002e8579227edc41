"""Cross-process long polls and live tails on SQLite: a relay that assigned positions wakes the
feed readers of every other process on the same database file (``shulian serve``'s extra workers)
through wake-up sockets beside the file, long before their poll period.

Two engines and two relays on one file stand for two processes: each relay has its own socket
and its own pulse, so only a datagram can carry the news from one to the other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kit_example.main import create_app
from sqlalchemy.ext.asyncio import AsyncEngine

from shulian_common import feed_api
from shulian_common.bus.base import Publisher
from shulian_common.feed import FeedFilter, wait_for_feed
from shulian_common.feed_api import sse_tail
from shulian_common.notify import FEED_CHANNEL
from shulian_common.outbox import sqlite_file
from shulian_common.testing.node import run_node
from shulian_common.testing.reliability import wait_until
from shulian_common.wake import wake_dir

from .conftest import (
    commit_and_publish,
    example_settings,
    partner,
    quiet_relay,
    reader_and_writer,
    write_notes,
)

SERVICE = "kitexample"
POLL = 30.0  # the readers' poll period here: far longer than the wait we allow
WAIT = 25.0  # a long poll's own limit: without a wake-up it returns empty after this


@pytest.fixture
async def engines(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    reader, writer = await reader_and_writer(f"sqlite+aiosqlite:///{tmp_path / 'kitexample.db'}")
    yield reader, writer
    await reader.dispose()
    await writer.dispose()


class _Client:
    """What ``sse_tail`` asks of the request: whether the client went away."""

    async def is_disconnected(self) -> bool:
        return False


async def test_a_relay_in_another_process_wakes_a_running_relays_long_poll(
    engines: tuple[AsyncEngine, AsyncEngine], publisher: Publisher
) -> None:
    reader_engine, writer_engine = engines
    reader_relay = quiet_relay(reader_engine, publisher, listen=True)
    writer_relay = quiet_relay(writer_engine, publisher, listen=False)  # it notifies all the same
    stop = asyncio.Event()
    relaying = asyncio.create_task(reader_relay.run(stop))
    try:
        await wait_until(lambda: reader_relay.listening, message="the reader's wake-up socket")
        await asyncio.sleep(0.2)  # its first (empty) run is over
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
        event = await commit_and_publish(writer_engine, writer_relay, 1)

        # Far below WAIT and POLL: only the wake-up can have answered this soon.
        page = await asyncio.wait_for(waiting, timeout=WAIT / 3)
    finally:
        stop.set()
        await relaying

    assert [e["id"] for e in page.events] == [event.id]
    assert reader_relay.published == 0  # the reader's own relay published nothing
    assert not reader_relay.listening  # its socket closed with its run
    database = sqlite_file(reader_engine)
    assert database is not None
    directory = wake_dir(database, FEED_CHANNEL)
    assert not directory.exists() or not list(directory.iterdir())


async def test_a_worker_that_does_not_run_the_relay_tails_the_feed_live(
    engines: tuple[AsyncEngine, AsyncEngine], publisher: Publisher
) -> None:
    reader_engine, writer_engine = engines
    reader_relay = quiet_relay(
        reader_engine, publisher, listen=True
    )  # an extra worker's: never run
    writer_relay = quiet_relay(writer_engine, publisher, listen=True)
    await reader_relay.listen_for_feed()  # what the feed's routes do before waiting
    assert reader_relay.listening
    tail = sse_tail(
        _Client(),  # type: ignore[arg-type]
        reader_engine,
        reader_relay.published_pulse,
        SERVICE,
        0,
        FeedFilter(),
        heartbeat=WAIT,
        poll=POLL,
    )
    try:
        assert (await anext(tail)).startswith("retry:")
        for n in range(3):
            message = asyncio.create_task(anext(tail))
            await asyncio.sleep(0.2)
            assert not message.done()
            event = await commit_and_publish(writer_engine, writer_relay, n)
            text = await asyncio.wait_for(message, timeout=WAIT / 3)
            assert f'"id":"{event.id}"' in text
    finally:
        await tail.aclose()
        await reader_relay.close_listener()


async def test_the_relay_wakes_nobody_when_it_assigned_no_positions(
    engines: tuple[AsyncEngine, AsyncEngine], publisher: Publisher
) -> None:
    reader_engine, writer_engine = engines
    reader_relay = quiet_relay(reader_engine, publisher, listen=True)
    writer_relay = quiet_relay(writer_engine, publisher, listen=True)
    await reader_relay.listen_for_feed()
    try:
        pulsed = asyncio.create_task(reader_relay.published_pulse.wait(1.0))
        await asyncio.sleep(0.05)
        assert await writer_relay.run_once() == 0  # nothing to publish: no wake-up
        assert await pulsed is False
    finally:
        await reader_relay.close_listener()


async def test_an_http_only_worker_answers_a_long_poll_when_the_first_worker_publishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Readers re-read only every POLL seconds, listening or not: only a wake-up answers sooner.
    monkeypatch.setattr(feed_api, "poll_interval", lambda listening: POLL)
    url = f"sqlite+aiosqlite:///{tmp_path / 'kitexample.db'}"
    # ``shulian serve --workers 2`` on one SQLite file: the first runs the relay, the second not.
    async with (
        run_node(create_app, example_settings(url, tmp_path)) as first,
        run_node(create_app, example_settings(url, tmp_path, http_only=True)) as second,
    ):
        assert not second.runtime.relay.listening
        waiting = asyncio.create_task(
            second.client.get("/v1/feed", params={"wait": WAIT}, headers=partner(second))
        )
        await wait_until(lambda: second.runtime.relay.listening, message="the worker's socket")
        await asyncio.sleep(0.2)
        assert not waiting.done()
        [event_id] = await write_notes(first, 1)

        response = await asyncio.wait_for(waiting, timeout=WAIT / 3)
        assert response.status_code == 200
        assert [e["id"] for e in response.json()] == [event_id]
        assert second.runtime.relay.published == 0
        await second.runtime.relay.close_listener()
