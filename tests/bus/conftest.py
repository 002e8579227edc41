"""Fixtures of the bus contract: a ``bus`` per backend and a harness that waits without sleeps."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import pytest

from shulian_common.bus import Bus, OutgoingMessage, Record, Subscriber, TopicPartition, dlt_topic
from shulian_common.bus.local import LocalBus

DEADLINE = 20.0  # seconds: generous for a loaded 2-core machine, never reached when all is well
PARTITIONS = 3


class Harness:
    """Unique names per test, started clients that are stopped at teardown, and drain helpers."""

    def __init__(self, bus: Bus, *, partitions: int = PARTITIONS) -> None:
        self.bus = bus
        self.topic = f"shulian.test.{uuid.uuid4().hex[:10]}.v1"
        self.partition_count = partitions
        self.subscribers: list[Subscriber] = []

    @property
    def partitions(self) -> set[TopicPartition]:
        """Every partition of this test's topic."""
        return {TopicPartition(self.topic, p) for p in range(self.partition_count)}

    def group(self) -> str:
        return f"group-{uuid.uuid4().hex[:10]}"

    def message(
        self, key: str, value: str, *, topic: str | None = None, **headers: str
    ) -> OutgoingMessage:
        """An outgoing record for this test's topic, with text value and headers."""
        encoded = tuple((name, text.encode()) for name, text in headers.items())
        return OutgoingMessage(topic or self.topic, key, value.encode(), encoded)

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        async with self.bus.publisher() as publisher:
            await publisher.publish(messages)

    async def subscribe(self, group: str, topics: Sequence[str] | None = None) -> Subscriber:
        subscriber = self.bus.subscriber(topics=topics or [self.topic], group_id=group)
        await subscriber.start()
        self.subscribers.append(subscriber)
        return subscriber

    async def stop(self, subscriber: Subscriber) -> None:
        self.subscribers.remove(subscriber)
        await subscriber.stop()

    async def drain(
        self, subscriber: Subscriber, count: int, *, commit: bool = False
    ) -> list[Record]:
        """Poll until ``count`` records arrived (committing each batch if asked)."""
        records: list[Record] = []
        deadline = time.monotonic() + DEADLINE
        while len(records) < count:
            assert time.monotonic() < deadline, f"got {len(records)} of {count} records"
            batch = await subscriber.poll(timeout=0.2)
            records += batch
            if commit and batch:
                await subscriber.commit(self.next_offsets(batch))
        return records

    async def drain_all(self, members: Sequence[Subscriber], count: int) -> list[list[Record]]:
        """Poll every member, committing, until together they received ``count`` records."""
        received: list[list[Record]] = [[] for _ in members]
        deadline = time.monotonic() + DEADLINE
        while sum(map(len, received)) < count:
            assert time.monotonic() < deadline, f"got {sum(map(len, received))} of {count}"
            batches = await asyncio.gather(*(m.poll(timeout=0.2) for m in members))
            for member, mine, batch in zip(members, received, batches, strict=True):
                mine += batch
                if batch:
                    await member.commit(self.next_offsets(batch))
        return received

    async def settle(self, members: Sequence[Subscriber]) -> list[set[TopicPartition]]:
        """Poll until the members own disjoint, non-empty shares covering every partition."""
        deadline = time.monotonic() + DEADLINE
        while True:
            shares = [m.assignment() for m in members]
            covered = set().union(*shares)
            disjoint = sum(map(len, shares)) == len(covered)
            if all(shares) and disjoint and covered == self.partitions:
                return shares
            assert time.monotonic() < deadline, f"assignment did not settle: {shares}"
            batches = await asyncio.gather(*(m.poll(timeout=0.1) for m in members))
            assert not any(batches), "settle() expects an empty topic"

    async def quiet(self, subscriber: Subscriber, *, polls: int = 3) -> bool:
        """Whether a few polls (once partitions are assigned) return nothing."""
        deadline = time.monotonic() + DEADLINE
        empty = 0
        while empty < polls:
            assert time.monotonic() < deadline, "no partitions were assigned"
            if await subscriber.poll(timeout=0.2):
                return False
            empty += 1 if subscriber.assignment() else 0
        return True

    @staticmethod
    def next_offsets(records: Sequence[Record]) -> dict[TopicPartition, int]:
        """The offsets to commit after ``records``."""
        return {r.tp: r.offset + 1 for r in records}

    async def aclose(self) -> None:
        subscribers, self.subscribers = self.subscribers, []
        for subscriber in subscribers:
            await subscriber.stop()
        await self.bus.close()


def local_bus(path: Path, *, session_timeout: float = 1.0) -> LocalBus:
    """A local log with a short session, so that lapsed members are noticed quickly."""
    return LocalBus(path, partitions=PARTITIONS, session_timeout=session_timeout)


@pytest.fixture(params=["local", pytest.param("kafka", marks=pytest.mark.kafka)])
def bus(request: pytest.FixtureRequest, tmp_path: Path) -> Bus:
    """Each contract test runs once on the local log and once on a Kafka-protocol broker."""
    if request.param == "local":
        return local_bus(tmp_path / "bus.db")
    kafka: Bus = request.getfixturevalue("kafka_bus")
    return kafka


@pytest.fixture
async def harness_factory() -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    """Make harnesses on any bus (their topic and its DLT created); all closed at teardown."""
    made: list[Harness] = []

    async def make(bus: Bus, *, partitions: int = PARTITIONS) -> Harness:
        h = Harness(bus, partitions=partitions)
        await bus.ensure_topics([h.topic, dlt_topic(h.topic)])
        made.append(h)
        return h

    yield make
    for h in made:
        await h.aclose()


@pytest.fixture
async def harness(bus: Bus, harness_factory: Callable[..., Awaitable[Harness]]) -> Harness:
    """A harness on ``bus``."""
    return await harness_factory(bus)
