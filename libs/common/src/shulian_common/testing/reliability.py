"""Reliability-test helpers: faults injected around a real bus, and deadline-bounded waits.

The wrappers delegate to a real ``Publisher``/``Subscriber``, so what is published really reaches
the log; only the failure is simulated, at a chosen point.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

from shulian_common.bus.base import (
    Bus,
    BusError,
    OutgoingMessage,
    Publisher,
    Record,
    Subscriber,
    TopicPartition,
)


class SimulatedCrash(BaseException):
    """The process dies here: a ``BaseException``, so no ``except Exception`` can swallow it."""


class FlakyPublisher(Publisher):
    """Wraps a publisher; can be down (``BusError``), crash or hang part-way through a batch."""

    def __init__(self, inner: Publisher) -> None:
        self.inner = inner
        self.down = False
        self.crash_after: int | None = None  # publish this many of the next batch, then crash
        self.hang_after: int | None = None  # publish this many of the next batch, then hang
        self.hung = asyncio.Event()
        self.attempts = 0
        self.delivered = 0

    async def start(self) -> None:
        """Start the real publisher."""
        await self.inner.start()

    async def stop(self) -> None:
        """Stop the real publisher."""
        await self.inner.stop()

    async def ping(self) -> None:
        """Fail while down, else ask the real bus."""
        if self.down:
            raise BusError("bus down (simulated)")
        await self.inner.ping()

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        """Publish for real, unless a fault is armed."""
        self.attempts += 1
        if self.down:
            raise BusError("bus down (simulated)")
        cut = self.crash_after if self.crash_after is not None else self.hang_after
        if cut is None:
            await self._deliver(messages)
            return
        await self._deliver(messages[:cut])
        if self.crash_after is not None:
            self.crash_after = None
            raise SimulatedCrash(f"crashed after publishing {cut} of {len(messages)}")
        self.hang_after = None
        self.hung.set()
        await asyncio.Event().wait()  # until cancelled

    async def _deliver(self, messages: Sequence[OutgoingMessage]) -> None:
        await self.inner.publish(messages)
        self.delivered += len(messages)


class FaultySubscriber(Subscriber):
    """Wraps a subscriber; crashes instead of committing while its bus says so."""

    def __init__(self, inner: Subscriber, bus: FaultyBus) -> None:
        self.inner = inner
        self._bus = bus
        self.committed: list[dict[TopicPartition, int]] = []

    async def start(self) -> None:
        """Join the group."""
        await self.inner.start()

    async def stop(self) -> None:
        """Leave the group."""
        await self.inner.stop()

    async def poll(self, *, timeout: float = 1.0, max_records: int = 500) -> list[Record]:  # noqa: ASYNC109
        """Poll the real subscriber, or answer empty while the bus's ``empty_polls`` last (a
        broker whose fetches lag behind its log under load)."""
        if self._bus.empty_polls > 0:
            self._bus.empty_polls -= 1
            await asyncio.sleep(min(timeout, 0.01))
            return []
        return await self.inner.poll(timeout=timeout, max_records=max_records)

    async def lag(self) -> dict[TopicPartition, int]:
        """The real subscriber's lag."""
        return await self.inner.lag()

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit for real, or crash first when ``crash_on_commit`` is set on the bus."""
        if self._bus.crash_on_commit:
            raise SimulatedCrash("crashed before committing offsets")
        await self.inner.commit(offsets)
        self.committed.append(dict(offsets))

    async def seek_to_committed(self, partitions: Sequence[TopicPartition]) -> None:
        """Rewind the real subscriber."""
        await self.inner.seek_to_committed(partitions)

    def assignment(self) -> set[TopicPartition]:
        """The real subscriber's partitions."""
        return self.inner.assignment()

    def pause(self, partitions: Sequence[TopicPartition]) -> None:
        """Pause the real subscriber's ``partitions``."""
        self.inner.pause(partitions)

    def resume(self, partitions: Sequence[TopicPartition]) -> None:
        """Resume the real subscriber's ``partitions``."""
        self.inner.resume(partitions)


class FaultyBus(Bus):
    """Wraps a bus: flaky publishers and faulty subscribers over the real ones."""

    def __init__(self, inner: Bus) -> None:
        self.inner = inner
        self.crash_on_commit = False
        self.empty_polls = 0  # polls its subscribers answer empty, whatever the log holds
        self.publishers: list[FlakyPublisher] = []
        self.subscribers: list[FaultySubscriber] = []

    def publisher(self) -> FlakyPublisher:
        """A flaky publisher over a real one."""
        publisher = FlakyPublisher(self.inner.publisher())
        self.publishers.append(publisher)
        return publisher

    def subscriber(
        self, *, topics: Sequence[str], group_id: str, client_id: str | None = None
    ) -> FaultySubscriber:
        """A faulty subscriber over a real one."""
        inner = self.inner.subscriber(topics=topics, group_id=group_id, client_id=client_id)
        subscriber = FaultySubscriber(inner, self)
        self.subscribers.append(subscriber)
        return subscriber

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create topics on the real bus."""
        await self.inner.ensure_topics(topics)

    async def close(self) -> None:
        """Nothing: the real bus belongs to whoever made it."""


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]],
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 - a deadline, not one call's wait
    interval: float = 0.01,
    message: str = "condition",
) -> None:
    """Poll ``condition`` until it holds; ``TimeoutError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        outcome = condition()
        if await outcome if isinstance(outcome, Awaitable) else outcome:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{message} did not hold within {timeout}s")
        await asyncio.sleep(interval)


async def read_topic(
    bus: Bus,
    topic: str,
    *,
    count: int,
    timeout: float = 15.0,  # noqa: ASYNC109 - a deadline, not one call's wait
    settle: float = 0.3,
) -> list[Record]:
    """``topic`` from the start: at least ``count`` records, plus extras seen within ``settle``."""
    deadline = time.monotonic() + timeout
    records: list[Record] = []
    group = f"reader-{uuid.uuid4().hex[:12]}"
    async with bus.subscriber(topics=[topic], group_id=group) as subscriber:
        while len(records) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(records)} of {count} records on {topic} in {timeout}s")
            records += await subscriber.poll(timeout=0.1)
        settled = time.monotonic() + settle
        while time.monotonic() < settled:
            records += await subscriber.poll(timeout=settle / 3)
    return records
