"""Poison rows are parked (and re-queueable) while the rest flow; positions follow publish order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shulian_common.app.runtime import oldest_unsent_age
from shulian_common.bus.base import (
    Bus,
    OutgoingMessage,
    PermanentPublishError,
    Publisher,
    Record,
)
from shulian_common.bus.kafka import KafkaBus
from shulian_common.bus.local import LocalBus
from shulian_common.catalogue import Catalogue, EventModel
from shulian_common.cli import main
from shulian_common.messaging import outbox
from shulian_common.outbox import OutboxRelay
from shulian_common.parking import parked_rows, requeue
from shulian_common.testing.postgres import sqlite_url
from shulian_common.testing.reliability import FlakyPublisher, read_topic, wait_until
from shulian_common.uow import UnitOfWorkFactory

SOURCE = "/nodes/510100/test"


class StepRecorded(EventModel):
    """Step ``n`` of an aggregate happened; ``poison`` makes the test bus refuse it."""

    n: int
    poison: bool = False
    blob: str = ""


class RefusingPublisher(Publisher):
    """Publishes for real, but refuses for good any batch holding a poison record while armed."""

    def __init__(self, inner: Publisher) -> None:
        self.inner = inner
        self.refuse = True
        self.calls: list[int] = []  # size of each publish call

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        await self.inner.stop()

    async def ping(self) -> None:
        await self.inner.ping()

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        self.calls.append(len(messages))
        if self.refuse and any(json.loads(m.value)["poison"] for m in messages):
            raise PermanentPublishError("record too large (simulated)")
        await self.inner.publish(messages)


@pytest.fixture
def uow_factory(
    session_factory: async_sessionmaker[AsyncSession], stream: str
) -> UnitOfWorkFactory:
    events = Catalogue()
    events.register(StepRecorded, type="cn.sichuan.shulian.test.step.recorded.v1", topic=stream)
    return UnitOfWorkFactory(session_factory, source=SOURCE, catalogue=events)


@pytest.fixture
async def refusing(local_bus: LocalBus) -> AsyncIterator[RefusingPublisher]:
    async with RefusingPublisher(local_bus.publisher()) as publisher:
        yield publisher


def relay_for(
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    publisher: Publisher,
    **options: float,
) -> OutboxRelay:
    return OutboxRelay(
        engine=engine,
        session_factory=session_factory,
        publisher=publisher,
        retry_interval=0.01,
        max_backoff=0.05,
        **options,  # type: ignore[arg-type]
    )


async def write(uows: UnitOfWorkFactory, key: str, n: int, **fields: object) -> None:
    async with uows() as uow:
        uow.record(StepRecorded(n=n, **fields), key=key)
        await uow.commit()


def steps_by_key(records: Sequence[Record]) -> dict[str, list[int]]:
    """Per key, the steps in the order first delivered (a consumer's inbox drops the copies)."""
    per_key: dict[str, list[int]] = {}
    seen: set[str | None] = set()
    for record in records:
        if record.header("ce_id") in seen:
            continue
        seen.add(record.header("ce_id"))
        key = record.header("ce_partitionkey") or ""
        per_key.setdefault(key, []).append(json.loads(record.value or b"{}")["n"])
    return per_key


async def positions_by_seq(engine: AsyncEngine) -> list[int | None]:
    async with engine.connect() as connection:
        query = select(outbox.c.position).order_by(outbox.c.seq)
        return list((await connection.execute(query)).scalars())


async def write_with_poison(uows: UnitOfWorkFactory) -> None:
    """Steps 0-4 of keys a, b, c; step 2 of b is poison."""
    for n in range(5):
        for key in "abc":
            await write(uows, key, n, poison=(key, n) == ("b", 2))


async def test_a_poison_row_is_parked_other_keys_flow_and_its_key_waits(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    refusing: RefusingPublisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    await write_with_poison(uow_factory)
    relay = relay_for(engine, session_factory, refusing)
    await relay.drain(timeout=10)

    records = await read_topic(local_bus, stream, count=12)
    assert steps_by_key(records) == {"a": [0, 1, 2, 3, 4], "b": [0, 1], "c": [0, 1, 2, 3, 4]}
    assert refusing.calls[0] == 15  # the batch, then one by one to find the poison row
    assert relay.parked == 1
    (parked,) = await parked_rows(engine)
    assert (parked.key, parked.topic) == ("b", stream)
    assert "PermanentPublishError: record too large (simulated)" in parked.error
    assert await relay.backlog() == 2  # b's steps 3 and 4 wait behind the parked row
    assert await relay.sendable() == 0
    assert await relay.run_once() == 0  # nothing is retried while the row stays parked


async def test_requeued_rows_flow_in_key_order_with_increasing_positions(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    refusing: RefusingPublisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    await write_with_poison(uow_factory)
    relay = relay_for(engine, session_factory, refusing)
    await relay.drain(timeout=10)
    positions_before = [p for p in await positions_by_seq(engine) if p is not None]

    refusing.refuse = False  # the operator fixed the cause (e.g. raised the broker's limit)
    (parked,) = await parked_rows(engine)
    assert await requeue(engine, [parked.seq]) == 1
    await relay.drain(timeout=10)

    records = await read_topic(local_bus, stream, count=15)
    assert steps_by_key(records)["b"] == [0, 1, 2, 3, 4]
    assert await parked_rows(engine) == []
    positions = await positions_by_seq(engine)
    assert None not in positions
    assert sorted(positions) == list(range(1, 16))  # type: ignore[type-var]
    assert positions_before == list(range(1, 13))
    # The three late rows come after everything published before, in seq order.
    assert positions[7::3] == [13, 14, 15]  # b's steps 2, 3, 4 (seq 8, 11, 14)


async def test_positions_follow_publish_order_and_survive_batches(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    local_bus: LocalBus,
) -> None:
    for n in range(20):
        await write(uow_factory, f"k{n % 3}", n)
    async with local_bus.publisher() as publisher:
        await relay_for(engine, session_factory, publisher, batch_size=7).drain(timeout=10)
    assert await positions_by_seq(engine) == list(range(1, 21))
    for n in range(20, 25):
        await write(uow_factory, "k0", n)
    async with local_bus.publisher() as publisher:
        await relay_for(engine, session_factory, publisher, batch_size=2).drain(timeout=10)
    assert await positions_by_seq(engine) == list(range(1, 26))


async def test_a_transient_failure_backs_off_and_parks_nothing(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    local_bus: LocalBus,
) -> None:
    for n in range(3):
        await write(uow_factory, "k", n)
    async with FlakyPublisher(local_bus.publisher()) as flaky:
        flaky.down = True
        relay = relay_for(engine, session_factory, flaky)
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        try:
            await wait_until(lambda: relay.failures >= 3, message="relay retried")
            assert await parked_rows(engine) == []
            flaky.down = False
            await wait_until(lambda: relay.published == 3, message="backlog drained")
        finally:
            stop.set()
            await task
    assert relay.parked == 0


class TestUnencodableRows:
    """A row whose data cannot be encoded is parked (SQLite stores what PostgreSQL refuses)."""

    @pytest.fixture
    def database_url(self, tmp_path: Path) -> str:
        return sqlite_url(tmp_path)

    async def test_an_unencodable_row_is_parked_without_reaching_the_bus(
        self,
        uow_factory: UnitOfWorkFactory,
        engine: AsyncEngine,
        session_factory: async_sessionmaker[AsyncSession],
        refusing: RefusingPublisher,
        local_bus: LocalBus,
        stream: str,
    ) -> None:
        for n in range(3):
            await write(uow_factory, "k", n)
            await write(uow_factory, "other", n)
        async with engine.begin() as connection:  # a lone surrogate: valid JSON, not UTF-8
            await connection.execute(
                text("UPDATE outbox SET data = :data WHERE seq = 3"),
                {"data": '{"n": 1, "x": "\\ud800"}'},
            )
        relay = relay_for(engine, session_factory, refusing)
        await relay.drain(timeout=10)

        records = await read_topic(local_bus, stream, count=4)
        assert steps_by_key(records) == {"k": [0], "other": [0, 1, 2]}
        (parked,) = await parked_rows(engine)
        assert parked.seq == 3
        assert parked.error.startswith("UnicodeEncodeError")


@pytest.mark.kafka
async def test_kafka_refusing_a_too_large_record_parks_it_and_the_rest_flow(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    kafka_bus: KafkaBus,
    stream: str,
) -> None:
    bus: Bus = kafka_bus
    await bus.ensure_topics([stream])
    await write(uow_factory, "k", 0)
    await write(uow_factory, "big", 0, blob="x" * 2_000_000)  # past the producer's 1 MiB limit
    await write(uow_factory, "k", 1)
    async with bus.publisher() as publisher:
        relay = relay_for(engine, session_factory, publisher)
        await relay.drain(timeout=30)

    records = await read_topic(bus, stream, count=2)
    # k's step 0 may go out twice (in the refused batch, then alone): at least once, in order.
    assert steps_by_key(records) == {"k": [0, 1]}
    (parked,) = await parked_rows(engine)
    assert parked.key == "big"
    assert "MessageSizeTooLargeError" in parked.error


async def test_the_cli_lists_parked_rows_and_requeues_them(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    refusing: RefusingPublisher,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await write_with_poison(uow_factory)
    await relay_for(engine, session_factory, refusing).drain(timeout=10)
    (parked,) = await parked_rows(engine)

    def shulian(*args: str) -> tuple[int, str]:
        code = main(["outbox", "--database-url", database_url, *args])
        return code, capsys.readouterr().out

    # The CLI runs its own event loop, as from a shell: off this test's loop.
    code, listed = await asyncio.to_thread(shulian, "parked")
    assert code == 0
    assert listed.startswith(f"{parked.seq}\t")
    assert "\tb\tcn.sichuan.shulian.test.step.recorded.v1\tPermanentPublishError" in listed
    assert (await asyncio.to_thread(shulian, "requeue"))[0] == 2  # neither SEQ nor --all
    assert await asyncio.to_thread(shulian, "requeue", str(parked.seq)) == (
        0,
        "re-queued 1 row(s)\n",
    )
    assert await asyncio.to_thread(shulian, "parked") == (0, "no parked rows\n")
    refusing.refuse = False
    await relay_for(engine, session_factory, refusing).drain(timeout=10)
    assert await relay_for(engine, session_factory, refusing).backlog() == 0


async def test_a_parked_row_does_not_age_the_backlog(engine: AsyncEngine) -> None:
    columns = "event_id, topic, key, type, source, time, data, created_at, parked_at, park_error"
    async with engine.begin() as connection:
        await connection.execute(
            text(
                f"INSERT INTO outbox ({columns}) VALUES "
                "('e-1', 't', 'k', 'ty', 's', :at, '{}', :at, :at, 'refused')"
            ),
            {"at": datetime(2026, 1, 1, tzinfo=UTC)},
        )
    assert await oldest_unsent_age(engine) is None  # waits for an operator, not for the relay
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE outbox SET parked_at = NULL"))
    assert (await oldest_unsent_age(engine) or 0) > 86_400
