"""The consumer runner: effectively once via the inbox, poison to the DLT, offsets after commit."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import AsyncAdaptedQueuePool

from shulian_common.bus.base import (
    Bus,
    BusError,
    MissingTopicError,
    OutgoingMessage,
    Publisher,
    Subscriber,
    TopicPartition,
    dlt_topic,
    partition_for,
)
from shulian_common.bus.kafka import KafkaBus
from shulian_common.bus.local import LocalBus
from shulian_common.catalogue import Catalogue, EventModel
from shulian_common.consumer import ConsumerRunner, Handler, Subscription
from shulian_common.db import create_engine, create_session_factory
from shulian_common.envelope import CloudEvent
from shulian_common.messaging import outbox
from shulian_common.readers import ReaderModel, Reads
from shulian_common.telemetry import consumer_lag
from shulian_common.testing.kafka import KafkaBroker
from shulian_common.testing.reliability import (
    FaultyBus,
    FaultySubscriber,
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
        self,
        bus: Bus,
        handler: Handler,
        *,
        event_type: str = ...,
        model: type[ReaderModel] = ...,
        **options: Any,
    ) -> ConsumerRunner: ...


class StepRecorded(EventModel):
    """Step ``n`` of an aggregate happened."""

    n: int


class StepEchoed(EventModel):
    """A consumer saw step ``n``."""

    n: int


class Step(ReaderModel):
    """What the consumers of these tests read of a step."""

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
    stream: str,
    consumer_name: str,
) -> MakeRunner:
    def make(
        bus: Bus,
        handler: Handler,
        *,
        event_type: str = STEP,
        model: type[ReaderModel] = Step,
        **options: Any,
    ) -> ConsumerRunner:
        settings: dict[str, Any] = {"max_retries": 3, "retry_backoff": 0.001} | options
        return ConsumerRunner(
            name=consumer_name,
            bus=bus,
            uow_factory=uow_factory,
            subscriptions=[Subscription(stream, {event_type: Reads(model, handler)})],
            publisher=publisher,
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


async def test_draining_does_not_stop_at_empty_polls_while_records_wait_in_the_log(
    make_runner: MakeRunner,
    applier: Handler,
    fetch_applied: Applied,
    publisher: Publisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    """A broker under load can answer fetches empty while its log holds more: drain reads the
    log's end before calling the consumer idle."""
    faulty = FaultyBus(local_bus)
    async with make_runner(faulty, applier) as runner:
        await runner.drain()  # joined, nothing yet
        await publish(publisher, stream, [step("a", n) for n in range(3)])
        faulty.empty_polls = 5
        handled_count = await runner.drain()

    assert handled_count == 3
    assert await fetch_applied() == [("a", n) for n in range(3)]


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
        await applier(uow, event, Step(n=event.data["n"]))
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
            subscriptions=[Subscription(stream, {STEP: Reads(Step, refuses_step_1)})],
            publisher=dlt_publisher,
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
        assert isinstance(data, Step)
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


def test_a_handler_for_a_malformed_event_type_is_refused(applier: Handler, stream: str) -> None:
    with pytest.raises(ValueError, match="must read"):
        Subscription(stream, {"step.recorded": Reads(Step, applier)})


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


class OwnedStep(ReaderModel):
    """What a consumer reads of a step of an aggregate owned by ``owner_node``."""

    n: int
    owner_node: str


async def test_an_event_about_an_aggregate_not_owned_by_its_source_node_is_dead_lettered(
    make_runner: MakeRunner,
    applier: Handler,
    fetch_applied: Applied,
    publisher: Publisher,
    local_bus: LocalBus,
    stream: str,
    consumer_name: str,
) -> None:
    owned = "cn.sichuan.shulian.test.owned_step.recorded.v1"

    def owned_step(key: str, n: int, owner: str) -> CloudEvent:
        data = {"n": n, "owner_node": owner}
        return CloudEvent(source=PRODUCER, type=owned, partitionkey=key, data=data)

    # PRODUCER is node 510100: it may speak of its own aggregates, not of Yibin's.
    await publish(publisher, stream, [owned_step("a", 1, "510100"), owned_step("b", 2, "511500")])
    runner = make_runner(local_bus, applier, event_type=owned, model=OwnedStep)
    async with runner:
        await runner.drain(until=handled(runner, 2))

    assert await fetch_applied() == [("a", 1)]
    assert runner.dead_lettered == 1
    [dead] = await read_topic(local_bus, dlt_topic(stream), count=1)
    assert "UntrustedEventError" in (dead.header("dlt_error") or "")


# --- Infrastructure failures: rewind and back off, never the DLT ------------------------------

INFRASTRUCTURE_FAILURES = {
    "pool checkout timeout": lambda: PoolTimeoutError("QueuePool limit of size 1 reached"),
    "operational error": lambda: OperationalError("SELECT 1", {}, OSError("server closed")),
    "invalidated connection": lambda: DBAPIError(
        "SELECT 1", {}, RuntimeError("gone"), connection_invalidated=True
    ),
    "OSError": lambda: ConnectionResetError(104, "reset by peer"),
    "asyncio.TimeoutError": asyncio.TimeoutError,
    "BusError": lambda: BusError("broker down"),
}


@pytest.mark.parametrize(
    "failure", INFRASTRUCTURE_FAILURES.values(), ids=INFRASTRUCTURE_FAILURES.keys()
)
async def test_an_infrastructure_failure_never_dead_letters_a_valid_event(
    failure: Callable[[], BaseException],
    make_runner: MakeRunner,
    applier: Handler,
    fetch_applied: Applied,
    publisher: Publisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    failures_left = [failure() for _ in range(4)]  # more than max_retries

    async def platform_down(uow: UnitOfWork, event: CloudEvent, data: object) -> None:
        if failures_left:
            raise failures_left.pop()
        await applier(uow, event, data)  # type: ignore[arg-type]

    await publish(publisher, stream, [step("a", 1), step("a", 2)])
    runner = make_runner(local_bus, platform_down)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop, poll_timeout=0.05))
    try:
        await wait_until(lambda: runner.processed == 2, message="both applied")
    finally:
        stop.set()
        await task

    assert await fetch_applied() == [("a", 1), ("a", 2)]
    assert (runner.dead_lettered, runner.failed_attempts) == (0, 0)
    assert runner.infrastructure_errors == 4


async def test_an_exhausted_connection_pool_rewinds_and_waits_instead_of_dead_lettering(
    database_url: str,
    engine: AsyncEngine,
    events: Catalogue,
    applier: Handler,
    fetch_applied: Applied,
    publisher: Publisher,
    local_bus: LocalBus,
    stream: str,
    consumer_name: str,
) -> None:
    tiny = create_engine(
        database_url,
        poolclass=AsyncAdaptedQueuePool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=0.05,
    )
    runner = ConsumerRunner(
        name=consumer_name,
        bus=local_bus,
        uow_factory=UnitOfWorkFactory(
            create_session_factory(tiny), source=PRODUCER, catalogue=events
        ),
        subscriptions=[Subscription(stream, {STEP: Reads(Step, applier)})],
        publisher=publisher,
        max_retries=1,
        retry_backoff=0.001,
    )
    await publish(publisher, stream, [step("a", 1)])
    stop = asyncio.Event()
    try:
        held = await tiny.connect()  # the pool's only connection: every checkout times out
        task = asyncio.create_task(runner.run(stop, poll_timeout=0.05))
        await wait_until(lambda: runner.infrastructure_errors >= 2, message="checkouts failed")
        assert (runner.processed, runner.dead_lettered, runner.failed_attempts) == (0, 0, 0)
        await held.close()
        await wait_until(lambda: runner.processed == 1, message="applied once the pool frees")
    finally:
        stop.set()
        await task
        await tiny.dispose()
    assert await fetch_applied() == [("a", 1)]
    assert runner.dead_lettered == 0


# --- A record being retried holds up its own partition only -----------------------------------


def key_on(partition: int, *, other_than: str = "") -> str:
    keys = (f"agg-{i}" for i in range(10_000))
    return next(k for k in keys if partition_for(k, 3) == partition and k != other_than)


async def test_a_record_being_retried_does_not_hold_up_the_other_partitions(
    make_runner: MakeRunner,
    applier: Handler,
    fetch_applied: Applied,
    publisher: Publisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    slow, fast = key_on(0), key_on(1)
    fast_applied = asyncio.Event()
    failures: list[int] = []

    async def waits_for_the_fast_partition(
        uow: UnitOfWork, event: CloudEvent, data: object
    ) -> None:
        if event.partitionkey == slow and event.data["n"] == 1 and not fast_applied.is_set():
            failures.append(1)
            raise RuntimeError("not yet")
        await applier(uow, event, data)  # type: ignore[arg-type]
        if event.partitionkey == fast and event.data["n"] == 2:
            fast_applied.set()

    # Partition 0 starts failing first; partition 1's records arrive only while it retries.
    await publish(publisher, stream, [step(slow, 1), step(slow, 2)])
    runner = make_runner(local_bus, waits_for_the_fast_partition, max_retries=1_000)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop, poll_timeout=0.05))
    try:
        await wait_until(lambda: runner.failed_attempts >= 1, message="partition 0 failing")
        await publish(publisher, stream, [step(fast, 1), step(fast, 2)])
        await asyncio.wait_for(fast_applied.wait(), timeout=10)
        await wait_until(lambda: runner.processed == 4, message="partition 0 caught up")
    finally:
        stop.set()
        await task

    applied = await fetch_applied()
    assert applied[:2] == [(fast, 1), (fast, 2)]  # applied while partition 0 was retrying
    assert [n for key, n in applied if key == slow] == [1, 2]  # its own order kept
    assert runner.dead_lettered == 0
    assert runner.failed_attempts == len(failures) >= 1


# --- Every undecodable record goes to the DLT with its reason ---------------------------------

MALFORMED: dict[str, tuple[Callable[[CloudEvent], OutgoingMessage], str]] = {
    "header not UTF-8": (
        lambda e: message(e, headers=[*e.to_headers(), ("ce_subject", b"\xff\xfe")]),
        "EnvelopeError: header 'ce_subject' is not valid UTF-8",
    ),
    "ce_id missing": (
        lambda e: message(e, headers=[h for h in e.to_headers() if h[0] != "ce_id"]),
        "EnvelopeError: header ce_id is missing",
    ),
    "ce_time malformed": (
        lambda e: message(e, headers=[*without(e, "ce_time"), ("ce_time", b"tuesday")]),
        "EnvelopeError: not a CloudEvent record: ValueError",
    ),
    "value not JSON": (
        lambda e: message(e, value=b"{n: 1"),
        "EnvelopeError: the record value is not JSON",
    ),
    "value null": (
        lambda e: message(e, value=None),
        "EnvelopeError: the record has no value",
    ),
    "key missing": (
        lambda e: message(e, key=""),
        "EnvelopeError: the record has no key",
    ),
}


def without(event: CloudEvent, name: str) -> list[tuple[str, bytes | None]]:
    return [(k, v) for k, v in event.to_headers() if k != name]


def message(
    event: CloudEvent,
    *,
    headers: Sequence[tuple[str, bytes | None]] | None = None,
    value: bytes | None = b"",
    key: str | None = None,
) -> OutgoingMessage:
    return OutgoingMessage(
        "",  # set by the test
        event.partitionkey if key is None else key,
        event.to_value() if value == b"" else value,  # type: ignore[arg-type] # None: a tombstone
        event.to_headers() if headers is None else headers,
    )


@pytest.mark.parametrize("case", MALFORMED.values(), ids=MALFORMED.keys())
async def test_every_undecodable_record_goes_to_the_dlt_with_its_reason(
    case: tuple[Callable[[CloudEvent], OutgoingMessage], str],
    make_runner: MakeRunner,
    applier: Handler,
    fetch_applied: Applied,
    publisher: Publisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    build, reason = case
    bad = dataclasses.replace(build(step("a", 1)), topic=stream)
    await publisher.publish([bad])
    await publish(publisher, stream, [step("a", 2)])

    async with make_runner(local_bus, applier) as runner:
        await runner.drain(until=handled(runner, 2))

    assert await fetch_applied() == [("a", 2)]  # the consumer went on past the bad record
    (dead,) = await read_topic(local_bus, dlt_topic(stream), count=1)
    assert (dead.header("dlt_error") or "").startswith(reason)
    assert dead.header("dlt_origin_offset") == "0"


# --- The trust rule checks the jurisdiction ---------------------------------------------------


class CountyStepRecorded(EventModel):
    """Step ``n`` of an aggregate in county ``county_code``, owned by ``owner_node``."""

    n: int
    owner_node: str
    county_code: str


async def test_only_a_node_governing_the_records_division_is_trusted(
    make_runner: MakeRunner,
    applier: Handler,
    fetch_applied: Applied,
    publisher: Publisher,
    local_bus: LocalBus,
    events: Catalogue,
    stream: str,
) -> None:
    county_step = "cn.sichuan.shulian.test.county_step.recorded.v1"
    events.register(CountyStepRecorded, type=county_step, topic=stream)

    def from_node(node: str, n: int, county: str) -> CloudEvent:
        data = {"n": n, "owner_node": node, "county_code": county}
        return CloudEvent(
            source=f"/nodes/{node}/producer", type=county_step, partitionkey=f"k{n}", data=data
        )

    await publish(
        publisher,
        stream,
        [
            from_node("511500", 1, "510104"),  # Yibin speaking of a Chengdu county: untrusted
            from_node("510100", 2, "510104"),  # Chengdu, of its own county
            from_node("510000", 3, "510104"),  # the province governs everything
            from_node("510000", 4, "513401"),
            from_node("510100", 5, "511502"),  # Chengdu speaking of a Yibin county: untrusted
        ],
    )
    runner = make_runner(local_bus, applier, event_type=county_step)
    async with runner:
        await runner.drain(until=handled(runner, 5))

    assert sorted(n for _, n in await fetch_applied()) == [2, 3, 4]
    dead = await read_topic(local_bus, dlt_topic(stream), count=2)
    assert sorted(json.loads(r.value or b"")["n"] for r in dead) == [1, 5]
    assert all("UntrustedEventError" in (r.header("dlt_error") or "") for r in dead)


# --- Batches: up to batch_size records per transaction ----------------------------------------


async def test_a_poison_record_in_a_batch_goes_to_the_dlt_and_the_rest_apply_once(
    make_runner: MakeRunner,
    applier: Handler,
    fetch_applied: Applied,
    publisher: Publisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    transactions: list[UnitOfWork] = []  # kept alive, so identities stay distinct

    async def poison_at_50(uow: UnitOfWork, event: CloudEvent, data: object) -> None:
        transactions.append(uow)
        await applier(uow, event, data)  # type: ignore[arg-type]
        if event.data["n"] == 50:
            raise RuntimeError("poison")

    await publish(publisher, stream, [step("a", n) for n in range(100)])
    async with make_runner(local_bus, poison_at_50, batch_size=100) as runner:
        await runner.drain(until=handled(runner, 100))

    assert await fetch_applied() == [("a", n) for n in range(100) if n != 50]
    assert (runner.processed, runner.dead_lettered, runner.duplicates) == (99, 1, 0)
    (dead,) = await read_topic(local_bus, dlt_topic(stream), count=1)
    assert json.loads(dead.value or b"") == {"n": 50}
    per_transaction = Counter(id(uow) for uow in transactions)
    assert max(per_transaction.values()) >= 49  # the records after the poison: one transaction


async def test_duplicates_within_and_across_batches_apply_once(
    make_runner: MakeRunner,
    applier: Handler,
    fetch_applied: Applied,
    publisher: Publisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    sent = [step("a", n) for n in range(6)]
    first = [sent[0], sent[1], sent[1], sent[2], sent[3], sent[3], sent[4], sent[5]]
    again = [sent[2], sent[5], sent[0], sent[4]]
    await publish(publisher, stream, first)
    async with make_runner(local_bus, applier, batch_size=4) as runner:
        await runner.drain(until=handled(runner, len(first)))
        await publish(publisher, stream, again)
        await runner.drain(until=handled(runner, len(first) + len(again)))

    assert await fetch_applied() == [("a", n) for n in range(6)]
    assert (runner.processed, runner.duplicates, runner.dead_lettered) == (6, 6, 0)


async def test_prepare_gets_each_transactions_new_records_before_the_first_is_handled(
    uow_factory: UnitOfWorkFactory,
    applier: Handler,
    fetch_applied: Applied,
    publisher: Publisher,
    local_bus: LocalBus,
    stream: str,
    consumer_name: str,
) -> None:
    seen: list[tuple[str, int, list[int]]] = []
    transactions: list[UnitOfWork] = []  # kept alive, so identities stay distinct

    def transaction(uow: UnitOfWork) -> int:
        if uow not in transactions:
            transactions.append(uow)
        return transactions.index(uow)

    async def prepare(uow: UnitOfWork, data: Sequence[Step]) -> None:
        seen.append(("prepare", transaction(uow), [d.n for d in data]))

    async def handle(uow: UnitOfWork, event: CloudEvent, data: Step) -> None:
        seen.append(("handle", transaction(uow), [data.n]))
        await applier(uow, event, data)

    reads = Reads(Step, handle, prepare=prepare)
    sent = [step("a", n) for n in range(6)]
    await publish(publisher, stream, [sent[0], sent[1], sent[1], sent[2]])
    runner = ConsumerRunner(
        name=consumer_name,
        bus=local_bus,
        uow_factory=uow_factory,
        subscriptions=[Subscription(stream, {STEP: reads})],
        publisher=publisher,
        batch_size=4,
    )
    async with runner:
        await runner.drain(until=handled(runner, 4))
        await publish(publisher, stream, [sent[2], sent[3], sent[4], sent[5]])
        await runner.drain(until=handled(runner, 8))

    # Duplicates (within the batch, or of an earlier one) are not prepared for: never handled.
    assert seen == [
        ("prepare", 0, [0, 1, 2]),
        ("handle", 0, [0]),
        ("handle", 0, [1]),
        ("handle", 0, [2]),
        ("prepare", 1, [3, 4, 5]),
        ("handle", 1, [3]),
        ("handle", 1, [4]),
        ("handle", 1, [5]),
    ]
    assert await fetch_applied() == [("a", n) for n in range(6)]


async def test_a_crash_mid_batch_applies_nothing_of_it_and_redelivery_applies_each_once(
    make_runner: MakeRunner,
    applier: Handler,
    fetch_applied: Applied,
    publisher: Publisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    crashes = [6]

    async def dies_once(uow: UnitOfWork, event: CloudEvent, data: object) -> None:
        await applier(uow, event, data)  # type: ignore[arg-type]
        if event.data["n"] in crashes:
            crashes.clear()
            raise SimulatedCrash("killed mid-batch")

    await publish(publisher, stream, [step("a", n) for n in range(10)])
    first = make_runner(local_bus, dies_once, batch_size=10)
    await first.start()
    with pytest.raises(SimulatedCrash):
        await first.drain(until=handled(first, 10))
    await first.stop()
    assert await fetch_applied() == []  # the whole batch rolled back

    async with make_runner(local_bus, dies_once, batch_size=10) as runner:
        await runner.drain(until=handled(runner, 10))

    assert await fetch_applied() == [("a", n) for n in range(10)]
    assert (runner.processed, runner.duplicates) == (10, 0)


# --- On a Kafka-protocol broker ---------------------------------------------------------------


@pytest.mark.kafka
async def test_on_kafka_a_header_that_is_not_utf8_goes_to_the_dlt_and_the_consumer_goes_on(
    kafka_bus: KafkaBus,
    uow_factory: UnitOfWorkFactory,
    events: Catalogue,
    applier: Handler,
    fetch_applied: Applied,
    stream: str,
    consumer_name: str,
) -> None:
    await kafka_bus.ensure_topics([stream, dlt_topic(stream)])
    bad = step("a", 1)
    async with kafka_bus.publisher() as kafka_publisher:
        await kafka_publisher.publish(
            [
                dataclasses.replace(
                    message(bad, headers=[*without(bad, "ce_type"), ("ce_type", b"\xc3\x28")]),
                    topic=stream,
                )
            ]
        )
        await publish(kafka_publisher, stream, [step("a", 2)])
        runner = ConsumerRunner(
            name=consumer_name,
            bus=kafka_bus,
            uow_factory=uow_factory,
            subscriptions=[Subscription(stream, {STEP: Reads(Step, applier)})],
            publisher=kafka_publisher,
        )
        async with runner:
            await runner.drain(until=handled(runner, 2), timeout=60)

    assert await fetch_applied() == [("a", 2)]
    (dead,) = await read_topic(kafka_bus, dlt_topic(stream), count=1)
    assert dead.header("dlt_error") == "EnvelopeError: header 'ce_type' is not valid UTF-8"
    assert dict(dead.headers)["ce_type"] == b"\xc3\x28"  # the original bytes, kept for triage


def short_commit_bus(broker: KafkaBroker) -> KafkaBus:
    """A bus on the session's broker with the group timings of ``kafka_bus`` and 1 s commits."""
    tansu = broker.kind == "tansu"
    return KafkaBus(
        broker.bootstrap,
        enable_idempotence=broker.idempotence,
        acks="all",
        linger_ms=5,
        session_timeout_ms=1_000 if tansu else 6_000,
        heartbeat_interval_ms=100 if tansu else 500,
        rebalance_timeout_ms=500 if tansu else 3_000,
        commit_timeout=1.0,
    )


@pytest.mark.kafka
async def test_on_kafka_a_topic_deleted_under_the_consumer_is_recreated_without_a_hot_loop(
    kafka_broker: KafkaBroker,
    uow_factory: UnitOfWorkFactory,
    events: Catalogue,
    applier: Handler,
    fetch_applied: Applied,
    stream: str,
    consumer_name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = short_commit_bus(kafka_broker)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
    await admin.start()

    async def deletes_its_topic(uow: UnitOfWork, event: CloudEvent, data: object) -> None:
        await applier(uow, event, data)  # type: ignore[arg-type]
        if event.data["n"] == 1:  # gone before the runner commits the offset
            await admin.delete_topics([stream])

    async def topic_exists() -> bool:
        return stream in await admin.list_topics()

    caplog.set_level(logging.ERROR, logger="aiokafka")
    stop = asyncio.Event()
    async with bus.publisher() as kafka_publisher:
        runner = ConsumerRunner(
            name=consumer_name,
            bus=bus,
            uow_factory=uow_factory,
            subscriptions=[Subscription(stream, {STEP: Reads(Step, deletes_its_topic)})],
            publisher=kafka_publisher,
            retry_backoff=0.05,
        )
        await runner.start()
        await publish(kafka_publisher, stream, [step("a", 1)])
        task = asyncio.create_task(runner.run(stop, poll_timeout=0.1))
        try:
            await wait_until(lambda: runner.processed == 1, timeout=30, message="first applied")
            await wait_until(lambda: runner.missing_topics != set(), timeout=30, message="noticed")
            await wait_until(topic_exists, timeout=30, message="topic recreated")
            await wait_until(lambda: not runner.missing_topics, timeout=30, message="rejoined")
            await publish(kafka_publisher, stream, [step("a", 2)])
            await wait_until(lambda: runner.processed == 2, timeout=30, message="consuming again")
        finally:
            stop.set()
            await task
            await admin.close()

    assert await fetch_applied() == [("a", 1), ("a", 2)]
    commit_errors = [r for r in caplog.records if "OffsetCommit failed" in r.getMessage()]
    assert len(commit_errors) <= 2 * 10 + 5  # two commits of 1 s at aiokafka's 100 ms backoff


class TopicGoneBus(FaultyBus):
    """A broker from which the topic vanished, where this client may not create topics."""

    def __init__(self, inner: Bus) -> None:
        super().__init__(inner)
        self.gone = False
        self.creations_refused = 0

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        if self.gone:
            self.creations_refused += 1
            raise BusError("TopicAuthorizationFailed: may not create topics (simulated)")
        await self.inner.ensure_topics(topics)

    def subscriber(
        self, *, topics: Sequence[str], group_id: str, client_id: str | None = None
    ) -> FaultySubscriber:
        inner = self.inner.subscriber(topics=topics, group_id=group_id, client_id=client_id)
        return TopicGoneSubscriber(inner, self)


class TopicGoneSubscriber(FaultySubscriber):
    def __init__(self, inner: Subscriber, bus: TopicGoneBus) -> None:
        super().__init__(inner, bus)
        self.broker = bus

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.broker.gone:
            raise MissingTopicError(sorted({tp.topic for tp in offsets}))
        await super().commit(offsets)


async def test_a_missing_topic_the_consumer_may_not_recreate_is_reported_until_it_returns(
    make_runner: MakeRunner,
    applier: Handler,
    fetch_applied: Applied,
    publisher: Publisher,
    local_bus: LocalBus,
    stream: str,
) -> None:
    broker = TopicGoneBus(local_bus)

    async def topic_vanishes(uow: UnitOfWork, event: CloudEvent, data: object) -> None:
        await applier(uow, event, data)  # type: ignore[arg-type]
        if event.data["n"] == 1:
            broker.gone = True  # before the runner commits the offset

    await publish(publisher, stream, [step("a", 1)])
    runner = make_runner(broker, topic_vanishes, retry_backoff=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop, poll_timeout=0.05))
    try:
        await wait_until(lambda: broker.creations_refused >= 2, message="recreation refused")
        assert runner.missing_topics == {stream}
        assert runner.stats()["missing_topics"] == 1
        broker.gone = False  # an operator recreated it
        await wait_until(lambda: not runner.missing_topics, message="rejoined")
        await publish(publisher, stream, [step("a", 2)])
        await wait_until(lambda: runner.processed == 2, message="consuming again")
    finally:
        stop.set()
        await task

    # Step 1's offset was never committed: redelivered, and recognised by the inbox.
    assert await fetch_applied() == [("a", 1), ("a", 2)]
    assert (runner.duplicates, runner.dead_lettered) == (1, 0)


@pytest.mark.kafka
async def test_on_kafka_a_topic_deleted_while_the_consumer_idles_is_noticed_and_recreated(
    kafka_broker: KafkaBroker,
    uow_factory: UnitOfWorkFactory,
    events: Catalogue,
    applier: Handler,
    fetch_applied: Applied,
    stream: str,
    consumer_name: str,
) -> None:
    bus = short_commit_bus(kafka_broker)
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
    await admin.start()

    async def topic_exists() -> bool:
        return stream in await admin.list_topics()

    stop = asyncio.Event()
    async with bus.publisher() as kafka_publisher:
        runner = ConsumerRunner(
            name=consumer_name,
            bus=bus,
            uow_factory=uow_factory,
            subscriptions=[Subscription(stream, {STEP: Reads(Step, applier)})],
            publisher=kafka_publisher,
            retry_backoff=0.05,
            lag_interval=0.2,
        )
        await runner.start()
        await publish(kafka_publisher, stream, [step("a", 1)])
        task = asyncio.create_task(runner.run(stop, poll_timeout=0.1))
        try:
            await wait_until(lambda: runner.processed == 1, timeout=30, message="first applied")
            await admin.delete_topics([stream])  # nothing left to commit: only polls see it
            await wait_until(lambda: runner.missing_topics != set(), timeout=30, message="noticed")
            await wait_until(topic_exists, timeout=30, message="topic recreated")
            await wait_until(lambda: not runner.missing_topics, timeout=30, message="rejoined")
            await publish(kafka_publisher, stream, [step("a", 2)])
            await wait_until(lambda: runner.processed == 2, timeout=30, message="consuming again")
        finally:
            stop.set()
            await task
            await admin.close()

    assert await fetch_applied() == [("a", 1), ("a", 2)]
