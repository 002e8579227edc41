"""The outbox relay: in order, at least once across crashes, through outages, safe in pairs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shulian_common.bus.base import Publisher, Record
from shulian_common.bus.local import LocalBus
from shulian_common.catalogue import Catalogue, EventModel
from shulian_common.messaging import outbox
from shulian_common.outbox import OutboxRelay
from shulian_common.testing.reliability import (
    FlakyPublisher,
    SimulatedCrash,
    read_topic,
    wait_until,
)
from shulian_common.uow import UnitOfWorkFactory

SOURCE = "/nodes/510100/test"
KEYS = ("k0", "k1", "k2", "k3")


class StepRecorded(EventModel):
    """Step ``n`` of an aggregate happened."""

    n: int


@pytest.fixture
def uow_factory(
    session_factory: async_sessionmaker[AsyncSession], stream: str
) -> UnitOfWorkFactory:
    events = Catalogue()
    events.register(StepRecorded, type="cn.sichuan.shulian.test.step.recorded.v1", topic=stream)
    return UnitOfWorkFactory(session_factory, source=SOURCE, catalogue=events)


@pytest.fixture
async def publisher(local_bus: LocalBus) -> AsyncIterator[FlakyPublisher]:
    async with FlakyPublisher(local_bus.publisher()) as publisher:
        yield publisher


def relay_for(
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    publisher: Publisher,
    *,
    batch_size: int = 500,
) -> OutboxRelay:
    return OutboxRelay(
        engine=engine,
        session_factory=session_factory,
        publisher=publisher,
        batch_size=batch_size,
        poll_interval=0.01,
        max_backoff=0.05,
    )


async def write_steps(
    uow_factory: UnitOfWorkFactory, steps: int, keys: Sequence[str] = KEYS
) -> None:
    """``steps`` events per key, interleaved across keys, one transaction each."""
    for n in range(steps):
        for key in keys:
            async with uow_factory() as uow:
                uow.record(StepRecorded(n=n), key=key)
                await uow.commit()


def first_deliveries(records: Sequence[Record]) -> dict[str, list[int]]:
    """Per key, the ``n`` of each event in the order it was first seen on the log."""
    seen: set[str] = set()
    per_key: dict[str, list[int]] = {}
    for record in records:
        event_id = record.header("ce_id")
        assert event_id is not None
        if event_id in seen:
            continue
        seen.add(event_id)
        n = json.loads(record.value or b"{}")["n"]
        per_key.setdefault(record.header("ce_partitionkey") or "", []).append(n)
    return per_key


def in_order(steps: int, keys: Sequence[str] = KEYS) -> dict[str, list[int]]:
    return {key: list(range(steps)) for key in keys}


async def test_relay_publishes_in_seq_order_and_marks_rows_sent(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    publisher: FlakyPublisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    await write_steps(uow_factory, 5)
    relay = relay_for(engine, session_factory, publisher, batch_size=7)
    assert await relay.backlog() == 20

    assert await relay.run_once() == 7
    assert await relay.backlog() == 13
    await relay.drain(timeout=10)

    records = await read_topic(local_bus, stream, count=20)
    assert len(records) == 20
    assert first_deliveries(records) == in_order(5)
    assert records[0].header("ce_type") == "cn.sichuan.shulian.test.step.recorded.v1"
    assert records[0].header("ce_source") == SOURCE
    async with engine.connect() as connection:
        unsent = await connection.execute(
            select(outbox.c.seq).where(outbox.c.published_at.is_(None))
        )
        assert unsent.all() == []


async def test_relay_crashing_mid_batch_republishes_on_restart(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    publisher: FlakyPublisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    await write_steps(uow_factory, 10)
    publisher.crash_after = 15  # 15 of the batch reach the log, then the process dies

    with pytest.raises(SimulatedCrash):
        await relay_for(engine, session_factory, publisher).run_once()
    assert await relay_for(engine, session_factory, publisher).backlog() == 40  # none marked

    await relay_for(engine, session_factory, publisher).drain(timeout=10)

    records = await read_topic(local_bus, stream, count=55)
    assert len(records) == 55  # at least once: the 15 twice, nothing lost
    assert first_deliveries(records) == in_order(10)


async def test_bus_outage_writes_succeed_backlog_grows_then_drains(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    publisher: FlakyPublisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    relay = relay_for(engine, session_factory, publisher)
    publisher.down = True
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await write_steps(uow_factory, 5)  # every commit succeeds while the bus is down
        await wait_until(lambda: relay.failures >= 3, message="relay retried")
        assert await relay.backlog() == 20
        assert not task.done()

        publisher.down = False
        await wait_until(lambda: relay.published == 20, message="backlog drained")
        assert await relay.backlog() == 0
    finally:
        stop.set()
        await task
    records = await read_topic(local_bus, stream, count=20)
    assert len(records) == 20
    assert first_deliveries(records) == in_order(5)


async def test_writes_go_on_while_the_relay_is_stuck_publishing(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    publisher: FlakyPublisher,
) -> None:
    await write_steps(uow_factory, 1)
    publisher.hang_after = 0
    task = asyncio.create_task(relay_for(engine, session_factory, publisher).run_once())
    try:
        await wait_until(publisher.hung.is_set, message="relay hung in publish")
        # Had the relay kept the database's write lock (SQLite) this would wait for it.
        await asyncio.wait_for(write_steps(uow_factory, 1, keys=["late"]), timeout=3)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert await relay_for(engine, session_factory, publisher).backlog() == 5


async def test_a_second_relay_waits_while_the_first_holds_a_batch(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    publisher: FlakyPublisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    await write_steps(uow_factory, 5)
    publisher.hang_after = 2
    first = asyncio.create_task(relay_for(engine, session_factory, publisher).run_once())
    async with local_bus.publisher() as other:
        second = relay_for(engine, session_factory, other)
        try:
            await wait_until(publisher.hung.is_set, message="first relay mid-batch")
            sent = await second.run_once()
        finally:
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
        await second.drain(timeout=10)

    records = await read_topic(local_bus, stream, count=22)
    if engine.dialect.name == "postgresql":
        assert sent == 0  # the advisory lock is held by the first relay
        assert len(records) == 22  # the 2 the cancelled relay sent, then each row once
    else:
        assert sent == 20  # no lock on SQLite: at-least-once, by design
    assert first_deliveries(records) == in_order(5)


async def test_two_relays_running_at_once_keep_per_key_order(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    local_bus: LocalBus,
    stream: str,
) -> None:
    stop = asyncio.Event()
    async with local_bus.publisher() as first, local_bus.publisher() as second:
        relays = [relay_for(engine, session_factory, p, batch_size=5) for p in (first, second)]

        async def drained() -> bool:
            return await relays[0].backlog() == 0

        tasks = [asyncio.create_task(r.run(stop)) for r in relays]
        try:
            await write_steps(uow_factory, 25)
            await wait_until(drained, timeout=20, message="backlog drained")
        finally:
            stop.set()
            await asyncio.gather(*tasks)

    records = await read_topic(local_bus, stream, count=100)
    assert first_deliveries(records) == in_order(25)
    if engine.dialect.name == "postgresql":  # the advisory lock: each row published once
        assert len(records) == 100
        assert sum(r.published for r in relays) == 100


async def test_several_batches_in_one_run_keep_seq_order_and_positions(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    publisher: FlakyPublisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    await write_steps(uow_factory, 6)  # 24 events
    relay = relay_for(engine, session_factory, publisher, batch_size=10)
    # PostgreSQL reads each next batch while publishing the last; SQLite goes one at a time.
    postgres = engine.dialect.name == "postgresql"
    assert await relay.run_once(batches=3) == (24 if postgres else 10)
    await relay.drain(timeout=10)

    records = await read_topic(local_bus, stream, count=24)
    assert len(records) == 24  # each row once
    assert first_deliveries(records) == in_order(6)
    async with engine.connect() as connection:
        rows = (await connection.execute(select(outbox.c.seq, outbox.c.position))).all()
    assert [position for _, position in sorted(rows)] == list(range(1, 25))
