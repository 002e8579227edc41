"""The consumer runner: effectively once via the inbox, poison to the DLT, offsets after commit."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shulian_common.bus.base import Bus, OutgoingMessage, Publisher, dlt_topic
from shulian_common.bus.local import LocalBus
from shulian_common.catalogue import Catalogue, EventModel, UnknownEventTypeError
from shulian_common.consumer import ConsumerRunner, Handler, Subscription
from shulian_common.envelope import CloudEvent
from shulian_common.messaging import outbox
from shulian_common.telemetry import consumer_lag
from shulian_common.testing.reliability import (
    FaultyBus,
    FlakyPublisher,
    SimulatedCrash,
    read_topic,
    wait_until,
)
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory

PRODUCER = "/nodes/510100/producer"
STEP = "cn.sichuan.shulian.test.step.recorded.v1"
ECHO = "cn.sichuan.shulian.test.step.echoed.v1"
Applied = Callable[[], Awaitable[list[tuple[str, int]]]]


class MakeRunner(Protocol):
    def __call__(
        self, bus: Bus, handler: Handler, *, event_type: str = ..., **options: Any
    ) -> ConsumerRunner: ...


class StepRecorded(EventModel):
    """Step ``n`` of an aggregate happened."""

    n: int


class StepEchoed(EventModel):
    """A consumer saw step ``n``."""

    n: int


@pytest.fixture
def events(stream: str) -> Catalogue:
    catalogue = Catalogue()
    catalogue.register(StepRecorded, type=STEP, topic=stream)
    catalogue.register(StepEchoed, type=ECHO, topic=stream.replace(".v1", "_echo.v1"))
    return catalogue


@pytest.fixture
def uow_factory(
    session_factory: async_sessionmaker[AsyncSession], events: Catalogue
) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(session_factory, source="/nodes/510000/consumer", catalogue=events)


@pytest.fixture
async def publisher(local_bus: LocalBus) -> AsyncIterator[Publisher]:
    async with local_bus.publisher() as publisher:
        yield publisher


@pytest.fixture
def make_runner(
    uow_factory: UnitOfWorkFactory,
    publisher: Publisher,
    events: Catalogue,
    stream: str,
    consumer_name: str,
) -> MakeRunner:
    def make(
        bus: Bus, handler: Handler, *, event_type: str = STEP, **options: Any
    ) -> ConsumerRunner:
        settings: dict[str, Any] = {"max_retries": 3, "retry_backoff": 0.001} | options
        return ConsumerRunner(
            name=consumer_name,
            bus=bus,
            uow_factory=uow_factory,
            subscriptions=[Subscription(stream, {event_type: handler})],
            publisher=publisher,
            catalogue=events,
            **settings,
        )

    return make


def step(key: str, n: object, *, traceparent: str | None = None) -> CloudEvent:
    return CloudEvent(
        source=PRODUCER, type=STEP, partitionkey=key, data={"n": n}, traceparent=traceparent
    )


async def publish(publisher: Publisher, topic: str, events: Sequence[CloudEvent]) -> None:
    await publisher.publish(
        [OutgoingMessage(topic, e.partitionkey, e.to_value(), e.to_headers()) for e in events]
    )


def handled(runner: ConsumerRunner, count: int) -> Callable[[], bool]:
    """Whether the runner disposed of ``count`` records one way or another."""
    disposed = ("processed", "duplicates", "skipped", "dead_lettered")
    return lambda: sum(runner.stats()[k] for k in disposed) >= count


async def test_each_event_applies_once_and_redelivered_copies_are_noops(
    make_runner: MakeRunner,
    applier: Handler,
    fetch_applied: Applied,
    publisher: Publisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    sent = [step("a", n) for n in range(5)]
    await publish(publisher, stream, sent)
    await publish(publisher, stream, sent)  # the same events again, as after a relay crash

    async with make_runner(local_bus, applier) as runner:
        await runner.drain(until=handled(runner, 10))

    assert await fetch_applied() == [("a", n) for n in range(5)]
    assert (runner.processed, runner.duplicates, runner.dead_lettered) == (5, 5, 0)


async def test_poison_event_goes_to_the_dlt_after_max_retries_and_the_partition_moves_on(
    make_runner: MakeRunner,
    applier: Handler,
    fetch_applied: Applied,
    publisher: Publisher,
    local_bus: LocalBus,
    stream: str,
    consumer_name: str,
) -> None:
    attempts: Counter[int] = Counter()

    async def fragile(uow: UnitOfWork, event: CloudEvent, data: object) -> None:
        attempts[event.data["n"]] += 1
        await applier(uow, event, StepRecorded(n=event.data["n"]))
        if event.data["n"] == 2:
            raise RuntimeError("boom on step 2")

    await publish(publisher, stream, [step("a", n) for n in range(5)])
    async with make_runner(local_bus, fragile) as runner:
        await runner.drain(until=handled(runner, 5))

    assert attempts == {0: 1, 1: 1, 2: 3, 3: 1, 4: 1}
    assert await fetch_applied() == [("a", 0), ("a", 1), ("a", 3), ("a", 4)]
    assert (runner.processed, runner.dead_lettered, runner.failed_attempts) == (4, 1, 3)
    originals = await read_topic(local_bus, stream, count=5)
    (poison,) = [r for r in originals if json.loads(r.value or b"") == {"n": 2}]
    (dead,) = await read_topic(local_bus, dlt_topic(stream), count=1)
    headers = dict(dead.headers)
    assert {k: v for k, v in headers.items() if not k.startswith("dlt_")} == dict(poison.headers)
    assert (dead.key, dead.value) == (poison.key, poison.value)
    assert headers["dlt_origin_topic"] == stream.encode()
    assert headers["dlt_origin_partition"] == str(poison.partition).encode()
    assert headers["dlt_origin_offset"] == str(poison.offset).encode()
    assert headers["dlt_error"] == b"RuntimeError: boom on step 2"
    assert headers["dlt_consumer"] == consumer_name.encode()


async def test_unusable_records_go_to_the_dlt_at_once_and_unknown_types_are_skipped(
    make_runner: MakeRunner,
    applier: Handler,
    fetch_applied: Applied,
    publisher: Publisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    calls: list[str] = []

    async def handler(uow: UnitOfWork, event: CloudEvent, data: object) -> None:
        calls.append(event.id)
        await applier(uow, event, data)  # type: ignore[arg-type]

    other = CloudEvent(
        source=PRODUCER, type="cn.sichuan.shulian.test.step.undone.v1", partitionkey="a"
    )
    await publisher.publish([OutgoingMessage(stream, "a", b"not an event")])
    await publish(publisher, stream, [step("a", "身份证 510104199001011234"), other, step("a", 7)])

    async with make_runner(local_bus, handler) as runner:
        await runner.drain(until=handled(runner, 4))

    assert len(calls) == 1
    assert await fetch_applied() == [("a", 7)]
    assert (runner.dead_lettered, runner.skipped, runner.failed_attempts) == (2, 1, 0)
    errors = [
        r.header("dlt_error") or "" for r in await read_topic(local_bus, dlt_topic(stream), count=2)
    ]
    assert errors[0].startswith("EnvelopeError:")
    assert errors[1].startswith("EventDataError: n: Input should be a valid integer")
    assert "510104199001011234" not in errors[1]  # input values (personal data) stay out


async def test_while_the_dlt_cannot_be_written_the_runner_holds_the_poison_record(
    uow_factory: UnitOfWorkFactory,
    events: Catalogue,
    applier: Handler,
    fetch_applied: Applied,
    publisher: Publisher,
    local_bus: LocalBus,
    stream: str,
    consumer_name: str,
) -> None:
    async def refuses_step_1(uow: UnitOfWork, event: CloudEvent, data: object) -> None:
        if event.data["n"] == 1:
            raise ValueError("step 1 is refused")
        await applier(uow, event, data)  # type: ignore[arg-type]

    await publish(publisher, stream, [step("a", n) for n in range(4)])
    async with FlakyPublisher(local_bus.publisher()) as dlt_publisher:
        dlt_publisher.down = True
        runner = ConsumerRunner(
            name=consumer_name,
            bus=local_bus,
            uow_factory=uow_factory,
            subscriptions=[Subscription(stream, {STEP: refuses_step_1})],
            publisher=dlt_publisher,
            catalogue=events,
            max_retries=1,
            retry_backoff=0.001,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop, poll_timeout=0.05))
        try:
            await wait_until(lambda: dlt_publisher.attempts >= 3, message="DLT retried")
            assert await fetch_applied() == [("a", 0)]  # nothing overtakes the poison record
            dlt_publisher.down = False
            await wait_until(lambda: runner.processed == 3, message="partition resumed")
        finally:
            stop.set()
            await task

    assert await fetch_applied() == [("a", 0), ("a", 2), ("a", 3)]
    assert runner.dead_lettered == 1
    assert len(await read_topic(local_bus, dlt_topic(stream), count=1)) == 1


async def test_crash_after_the_db_commit_before_the_offset_commit_applies_nothing_twice(
    make_runner: MakeRunner,
    applier: Handler,
    fetch_applied: Applied,
    publisher: Publisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    await publish(publisher, stream, [step("a", n) for n in range(5)])
    faulty = FaultyBus(local_bus)
    faulty.crash_on_commit = True
    crashed = make_runner(faulty, applier)
    await crashed.start()
    with pytest.raises(SimulatedCrash):
        await crashed.drain(until=handled(crashed, 5))
    await crashed.stop()
    assert crashed.processed > 0
    assert len(await fetch_applied()) == crashed.processed

    async with make_runner(local_bus, applier) as runner:
        await runner.drain(until=handled(runner, 5))

    assert runner.duplicates == crashed.processed  # redelivered, recognised by the inbox
    assert await fetch_applied() == [("a", n) for n in range(5)]


async def test_crash_inside_the_transaction_redelivers_that_event(
    make_runner: MakeRunner,
    applier: Handler,
    fetch_applied: Applied,
    publisher: Publisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    crashes = [2]

    async def dies_once(uow: UnitOfWork, event: CloudEvent, data: object) -> None:
        await applier(uow, event, data)  # type: ignore[arg-type]
        if event.data["n"] in crashes:
            crashes.clear()
            raise SimulatedCrash("killed mid-transaction")

    await publish(publisher, stream, [step("a", n) for n in range(5)])
    first = make_runner(local_bus, dies_once)
    await first.start()
    with pytest.raises(SimulatedCrash):
        await first.drain(until=handled(first, 5))
    await first.stop()
    assert await fetch_applied() == [("a", 0), ("a", 1)]

    async with make_runner(local_bus, dies_once) as runner:
        await runner.drain(until=lambda: runner.processed >= 3)

    assert await fetch_applied() == [("a", n) for n in range(5)]


async def test_events_a_handler_records_commit_only_with_its_successful_attempt(
    make_runner: MakeRunner,
    fetch_applied: Applied,
    engine: AsyncEngine,
    publisher: Publisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    failures = [RuntimeError("first attempt fails after recording")]

    async def echo(uow: UnitOfWork, event: CloudEvent, data: object) -> None:
        assert isinstance(data, StepRecorded)
        uow.record(StepEchoed(n=data.n), key=event.partitionkey)
        if failures:
            raise failures.pop()

    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    await publish(
        publisher, stream, [step("a", 1, traceparent=f"00-{trace_id}-00f067aa0ba902b7-01")]
    )
    async with make_runner(local_bus, echo) as runner:
        await runner.drain(until=handled(runner, 1))

    async with engine.connect() as connection:
        rows = (await connection.execute(select(outbox))).all()
    assert [(r.type, r.data) for r in rows] == [(ECHO, {"n": 1})]
    assert rows[0].traceparent is not None
    assert rows[0].traceparent.startswith(f"00-{trace_id}-")  # the consumer continued the trace
    assert (runner.processed, runner.failed_attempts) == (1, 1)


def test_a_handler_for_a_type_missing_from_the_catalogue_is_refused(
    tmp_path: Path, applier: Handler, stream: str
) -> None:
    bus = LocalBus(tmp_path / "bus.db")
    with pytest.raises(UnknownEventTypeError):
        ConsumerRunner(
            name="c",
            bus=bus,
            uow_factory=UnitOfWorkFactory(async_sessionmaker(), source=PRODUCER),
            subscriptions=[Subscription(stream, {"cn.sichuan.shulian.test.x.y.v1": applier})],
            publisher=bus.publisher(),
            catalogue=Catalogue(),
        )


async def test_the_runner_reports_its_lag_per_partition_through_telemetry(
    make_runner: MakeRunner,
    applier: Handler,
    publisher: Publisher,
    local_bus: LocalBus,
    stream: str,
    consumer_name: str,
) -> None:
    async def more_arrive_meanwhile(uow: UnitOfWork, event: CloudEvent, data: object) -> None:
        await applier(uow, event, data)  # type: ignore[arg-type]
        if event.data["n"] == 0:
            await publish(publisher, stream, [step(key, n) for n, key in enumerate("abc", 1)])

    def reported() -> dict[str, float]:
        return {
            attributes["partition"]: value
            for value, attributes in consumer_lag.values()
            if attributes["group"] == consumer_name and attributes["topic"] == stream
        }

    await publish(publisher, stream, [step("a", 0)])
    runner = make_runner(local_bus, more_arrive_meanwhile, lag_interval=0)
    async with runner:
        await runner.drain(until=lambda: runner.processed >= 1)
        assert reported().keys() == {"0", "1", "2"}
        assert sum(reported().values()) == runner.stats()["lag"] == 3

        await runner.drain(until=lambda: runner.processed >= 4)

    assert reported() == {"0": 0, "1": 0, "2": 0}
    assert runner.stats()["lag"] == 0


class OwnedStepRecorded(EventModel):
    """Step ``n`` of an aggregate owned by ``owner_node`` happened."""

    n: int
    owner_node: str


async def test_an_event_about_an_aggregate_not_owned_by_its_source_node_is_dead_lettered(
    make_runner: MakeRunner,
    applier: Handler,
    fetch_applied: Applied,
    publisher: Publisher,
    local_bus: LocalBus,
    events: Catalogue,
    stream: str,
    consumer_name: str,
) -> None:
    owned = "cn.sichuan.shulian.test.owned_step.recorded.v1"
    events.register(OwnedStepRecorded, type=owned, topic=stream)

    def owned_step(key: str, n: int, owner: str) -> CloudEvent:
        data = {"n": n, "owner_node": owner}
        return CloudEvent(source=PRODUCER, type=owned, partitionkey=key, data=data)

    # PRODUCER is node 510100: it may speak of its own aggregates, not of Yibin's.
    await publish(publisher, stream, [owned_step("a", 1, "510100"), owned_step("b", 2, "511500")])
    runner = make_runner(local_bus, applier, event_type=owned)
    async with runner:
        await runner.drain(until=handled(runner, 2))

    assert await fetch_applied() == [("a", 1)]
    assert runner.dead_lettered == 1
    [dead] = await read_topic(local_bus, dlt_topic(stream), count=1)
    assert "UntrustedEventError" in (dead.header("dlt_error") or "")
