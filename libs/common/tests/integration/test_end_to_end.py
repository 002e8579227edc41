"""Write → outbox → relay → real bus → consumer → inbox, with crashes, on real buses and DBs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shulian_common.bus.base import Bus, dlt_topic
from shulian_common.bus.local import LocalBus
from shulian_common.catalogue import Catalogue, EventModel
from shulian_common.consumer import ConsumerRunner, Handler, Subscription
from shulian_common.envelope import CloudEvent
from shulian_common.outbox import OutboxRelay
from shulian_common.readers import ReaderModel, Reads
from shulian_common.testing.postgres import sqlite_url
from shulian_common.testing.reliability import (
    FaultyBus,
    FlakyPublisher,
    SimulatedCrash,
    read_topic,
    wait_until,
)
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory

STEP = "cn.sichuan.shulian.test.step.recorded.v1"
KEYS = ("k0", "k1", "k2", "k3")
Applied = Callable[[], Awaitable[list[tuple[str, int]]]]


class StepRecorded(EventModel):
    """Step ``n`` of an aggregate happened."""

    n: int


class Step(ReaderModel):
    """What the consumer reads of a step."""

    n: int


@pytest.fixture(
    params=[
        pytest.param(("sqlite", "local"), id="sqlite-local"),
        pytest.param(("postgres", "local"), id="postgres-local", marks=pytest.mark.postgres),
        # The production pairing; the bus contract suite covers Kafka with either database.
        pytest.param(
            ("postgres", "kafka"),
            id="postgres-kafka",
            marks=[pytest.mark.postgres, pytest.mark.kafka],
        ),
    ]
)
def backends(request: pytest.FixtureRequest) -> tuple[str, str]:
    """The database and the bus of one run: the embedded pair, then PostgreSQL with each bus."""
    return tuple(request.param)


@pytest.fixture
def database_url(backends: tuple[str, str], request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backends[0] == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def bus(
    backends: tuple[str, str], request: pytest.FixtureRequest, local_bus: LocalBus
) -> AsyncIterator[Bus]:
    if backends[1] == "local":
        yield local_bus
        return
    kafka: Bus = request.getfixturevalue("kafka_bus")
    yield kafka
    await kafka.close()


@pytest.fixture
def events(stream: str) -> Catalogue:
    catalogue = Catalogue()
    catalogue.register(StepRecorded, type=STEP, topic=stream)
    return catalogue


@pytest.fixture
def producer(
    session_factory: async_sessionmaker[AsyncSession], events: Catalogue
) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory, source="/nodes/510100/producer", catalogue=events)


@pytest.fixture
def consumer(
    session_factory: async_sessionmaker[AsyncSession], events: Catalogue
) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory, source="/nodes/510000/consumer", catalogue=events)


@pytest.fixture
async def publisher(bus: Bus) -> AsyncIterator[FlakyPublisher]:
    async with FlakyPublisher(bus.publisher()) as publisher:
        yield publisher


def relay_for(
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    publisher: FlakyPublisher,
) -> OutboxRelay:
    return OutboxRelay(
        engine=engine, session_factory=session_factory, publisher=publisher, poll_interval=0.01
    )


async def write_steps(producer: UnitOfWorkFactory, steps: int) -> None:
    for n in range(steps):
        for key in KEYS:
            async with producer() as uow:
                uow.record(StepRecorded(n=n), key=key)
                await uow.commit()


def per_key(applied: list[tuple[str, int]]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for key, n in applied:
        grouped.setdefault(key, []).append(n)
    return grouped


async def test_every_write_is_applied_once_in_key_order_across_a_relay_crash(
    producer: UnitOfWorkFactory,
    consumer: UnitOfWorkFactory,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    publisher: FlakyPublisher,
    bus: Bus,
    applier: Handler,
    fetch_applied: Applied,
    stream: str,
    consumer_name: str,
) -> None:
    await write_steps(producer, 10)
    publisher.hang_after = 12  # 12 records reach the bus, then the relay is killed
    stop = asyncio.Event()
    crashed = asyncio.create_task(relay_for(engine, session_factory, publisher).run(stop))
    await wait_until(publisher.hung.is_set, message="relay mid-batch")
    crashed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await crashed
    await relay_for(engine, session_factory, publisher).drain(timeout=30)

    runner = ConsumerRunner(
        name=consumer_name,
        bus=bus,
        uow_factory=consumer,
        subscriptions=[Subscription(stream, {STEP: Reads(Step, applier)})],
        publisher=publisher,
    )
    async with runner:
        await runner.drain(until=lambda: runner.processed + runner.duplicates >= 52, timeout=60)

    assert per_key(await fetch_applied()) == {key: list(range(10)) for key in KEYS}
    assert (runner.processed, runner.duplicates) == (40, 12)


async def test_a_consumer_restarted_after_a_crash_applies_nothing_twice_and_dead_letters(
    producer: UnitOfWorkFactory,
    consumer: UnitOfWorkFactory,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    publisher: FlakyPublisher,
    bus: Bus,
    applier: Handler,
    fetch_applied: Applied,
    stream: str,
    consumer_name: str,
) -> None:
    async def rejects_k1_step_3(uow: UnitOfWork, event: CloudEvent, data: object) -> None:
        if (event.partitionkey, event.data["n"]) == ("k1", 3):
            raise ValueError("step 3 of k1 is refused")
        await applier(uow, event, data)  # type: ignore[arg-type]

    def runner_on(on: Bus) -> ConsumerRunner:
        return ConsumerRunner(
            name=consumer_name,
            bus=on,
            uow_factory=consumer,
            subscriptions=[Subscription(stream, {STEP: Reads(Step, rejects_k1_step_3)})],
            publisher=publisher,
            max_retries=2,
            retry_backoff=0.001,
        )

    await write_steps(producer, 5)
    await relay_for(engine, session_factory, publisher).drain(timeout=30)
    faulty = FaultyBus(bus)
    faulty.crash_on_commit = True  # dies after the database commits, before the offset commit
    crashed = runner_on(faulty)
    await crashed.start()
    with pytest.raises(SimulatedCrash):
        await crashed.drain(until=lambda: False, timeout=60)
    await crashed.stop()
    applied_before = len(await fetch_applied())
    assert applied_before == crashed.processed > 0

    async with runner_on(bus) as runner:
        await runner.drain(
            until=lambda: runner.processed + runner.duplicates + runner.dead_lettered >= 20,
            timeout=60,
        )

    expected = {key: list(range(5)) for key in KEYS} | {"k1": [0, 1, 2, 4]}
    assert per_key(await fetch_applied()) == expected
    assert runner.duplicates == applied_before
    # A crash after a dead-letter but before its offset commit dead-letters it again: DLT
    # delivery is at-least-once too, so every copy must name the same origin record.
    dead = await read_topic(bus, dlt_topic(stream), count=1)
    (poison,) = [
        r
        for r in await read_topic(bus, stream, count=20)
        if r.value == b'{"n":3}' and r.key == b"k1"
    ]
    origin = {
        (r.key, r.header("dlt_origin_partition"), r.header("dlt_origin_offset")) for r in dead
    }
    assert origin == {(b"k1", str(poison.partition), str(poison.offset))}
    assert {r.header("dlt_error") for r in dead} == {"ValueError: step 3 of k1 is refused"}
    assert {r.header("dlt_consumer") for r in dead} == {consumer_name}
