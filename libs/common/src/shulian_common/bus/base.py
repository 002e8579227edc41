"""The bus contract: one ``Publisher``/``Subscriber`` interface, two implementations."""

from __future__ import annotations

import abc
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Self


@dataclass(frozen=True, slots=True)
class TopicPartition:
    """A topic and one of its partitions."""

    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A record to publish: the key picks the partition, so one key keeps its order."""

    topic: str
    key: str
    value: bytes
    headers: Sequence[tuple[str, bytes | None]] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Record:
    """A record as consumed, with where it sits in the log."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]]  # Kafka allows null header values
    timestamp_ms: int

    @property
    def tp(self) -> TopicPartition:
        """This record's topic-partition."""
        return TopicPartition(self.topic, self.partition)

    def header(self, name: str) -> str | None:
        """The first header called ``name``, decoded (invalid UTF-8 replaced), or ``None``."""
        for key, value in self.headers:
            if key == name:
                return None if value is None else value.decode(errors="replace")
        return None


class BusError(RuntimeError):
    """The bus could not do what was asked (broker down, timeout, …)."""


class PermanentPublishError(BusError):
    """The bus refused a record for a reason retrying cannot fix (too large, not authorised, …)."""


class MissingTopicError(BusError):
    """Topics this client works on no longer exist on the broker (deleted, or the broker reset)."""

    def __init__(self, topics: Sequence[str]) -> None:
        super().__init__(f"topics missing on the broker: {', '.join(topics)}")
        self.topics = list(topics)


def partition_for(key: str, partitions: int) -> int:
    """Stable partition of a key for the local log (CRC-32, same on every process)."""
    return zlib.crc32(key.encode()) % partitions


def dlt_topic(topic: str) -> str:
    """The dead-letter topic of ``topic``."""
    return f"{topic}.DLT"


class Publisher(abc.ABC):
    """Publishes records; ``publish`` returns once the bus has durably accepted them."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Connect."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Flush and disconnect."""

    @abc.abstractmethod
    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        """Publish in order (per key); raise ``BusError`` if any was not accepted."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise ``BusError`` unless the bus answers (for ``/readyz``)."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class Subscriber(abc.ABC):
    """Consumes topics as one member of a consumer group, committing offsets explicitly."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Join the group."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Leave the group without committing anything."""

    @abc.abstractmethod
    async def poll(
        self,
        *,
        timeout: float = 1.0,  # noqa: ASYNC109 - a poll window, not a cancellation deadline
        max_records: int = 500,
    ) -> list[Record]:
        """Records after the committed (or already polled) positions, in log order per partition."""

    @abc.abstractmethod
    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit the next offset to read for each partition."""

    @abc.abstractmethod
    async def seek_to_committed(self, partitions: Sequence[TopicPartition]) -> None:
        """Rewind to the committed offsets, so uncommitted records are redelivered."""

    @abc.abstractmethod
    def assignment(self) -> set[TopicPartition]:
        """The partitions this member currently owns."""

    @abc.abstractmethod
    def pause(self, partitions: Sequence[TopicPartition]) -> None:
        """Stop returning records of ``partitions`` from ``poll`` until they are resumed.

        A partition this member does not own is ignored; one it loses and gets back may come
        back unpaused, so a caller that paused it must still ignore records it did not expect.
        """

    @abc.abstractmethod
    def resume(self, partitions: Sequence[TopicPartition]) -> None:
        """Return records of ``partitions`` from ``poll`` again, from their current positions."""

    async def lag(self) -> dict[TopicPartition, int]:
        """Records between this member's position and the log end, per owned partition.

        The default knows no lag (an empty map); the real buses override it. A bus whose topics
        can be deleted raises ``MissingTopicError`` when a subscribed one is gone.
        """
        return {}

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class Bus(abc.ABC):
    """A factory of publishers and subscribers for one bus URL."""

    @abc.abstractmethod
    def publisher(self) -> Publisher:
        """A new publisher."""

    @abc.abstractmethod
    def subscriber(
        self, *, topics: Sequence[str], group_id: str, client_id: str | None = None
    ) -> Subscriber:
        """A new group member subscribed to ``topics``, starting at the earliest offset."""

    @abc.abstractmethod
    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create the topics (and their partitions) if they do not exist."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release shared resources."""
